"""sklearn-gd: scikit-learn compatible linear models trained by gradient descent.

The estimators :class:`GDRegressor` and :class:`GDClassifier` train every linear
loss with full-batch, mini-batch or per-sample gradient descent, five solvers
(sgd with momentum, nesterov, adagrad, rmsprop, adam) and any learning-rate
schedule, on numba-compiled kernels. :func:`minimize` runs the same solvers
and schedules on any differentiable function and records the path.
"""

from ._cache import kernel_cache

# The kernels compile (or load from their cache) as these modules import.
with kernel_cache(__path__[0]):
    from ._classifier import GDClassifier
    from ._minimize import minimize
    from ._regressor import GDRegressor
    from ._rules import DivergenceError
    from ._schedules import (
        Adaptive,
        Constant,
        Cosine,
        Exponential,
        InvScaling,
        Schedule,
        Step,
        WarmRestarts,
    )

__version__ = "0.1.0.dev0"

__all__ = [
    "Adaptive",
    "Constant",
    "Cosine",
    "DivergenceError",
    "Exponential",
    "GDClassifier",
    "GDRegressor",
    "InvScaling",
    "Schedule",
    "Step",
    "WarmRestarts",
    "minimize",
]
