"""minimize: the estimators' solvers and schedules on any differentiable function."""

from numbers import Integral, Real

import numpy as np
from scipy.optimize import OptimizeResult, approx_fprime

from ._schedules import Adaptive, resolve_schedule
from ._solvers import SOLVERS, init_solver_state, solver_step


def _norm(gradient):
    """Return the Euclidean norm, inf rather than a warning when it overflows."""
    with np.errstate(over="ignore"):
        return float(np.linalg.norm(gradient))


def _check_real(name, value, *, low, high=None, low_open=False):
    """Raise a ValueError unless ``value`` is a real number in its range.

    numpy scalars count (``np.float32(0.1)``); booleans do not.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number; got {value!r}.")
    below = value <= low if low_open else value < low
    if below or (high is not None and value >= high) or not np.isfinite(value):
        upper = f" and < {high}" if high is not None else ""
        lower = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {lower}{upper}; got {value!r}.")


def _check_integer(name, value):
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")


def _checked_gradient(gradient, n):
    """Return ``gradient`` as a float64 vector of ``n`` values, or raise."""
    gradient = np.asarray(gradient, dtype=np.float64)
    if gradient.size != n or (gradient.ndim > 1 and gradient.squeeze().ndim > 1):
        raise ValueError(
            f"The gradient must have one value per coordinate of x0 ({n}); got an "
            f"array of shape {gradient.shape}. Check jac (or the gradient fun "
            "returns with jac=True)."
        )
    return gradient.reshape(n)


def _gradient_function(fun, jac, args):
    """Return ``value_and_gradient(x) -> (f, g)`` from scipy-style fun and jac."""
    if not callable(fun):
        raise ValueError(f"fun must be callable; got {fun!r}.")
    if jac is True:

        def value_and_gradient(x):
            value, gradient = fun(x, *args)
            return float(value), np.asarray(gradient, dtype=np.float64)

    elif callable(jac):

        def value_and_gradient(x):
            return float(fun(x, *args)), np.asarray(jac(x, *args), dtype=np.float64)

    elif jac is None:

        def value_and_gradient(x):
            value = float(fun(x, *args))
            return value, approx_fprime(x, lambda z: float(fun(z, *args)))

    else:
        raise ValueError(
            f"jac must be a callable, True (fun returns the value and the "
            f"gradient) or None (finite differences); got {jac!r}."
        )
    return value_and_gradient


def minimize(
    fun,
    x0,
    jac=None,
    *,
    args=(),
    solver="sgd",
    learning_rate=0.01,
    momentum=0.0,
    beta_2=0.999,
    schedule="constant",
    max_iter=1000,
    tol=1e-6,
    n_iter_no_change=5,
    callback=None,
):
    """Minimise ``fun`` by gradient descent, recording the path.

    The update rules and learning-rate schedules are exactly those of
    :class:`GDRegressor` and :class:`GDClassifier`; each iteration is one
    update from the full gradient.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, or ``-> (float, gradient)`` with ``jac=True``.
    x0 : float or array-like of shape (n,)
        Starting point. As in ``scipy.optimize.minimize``, ``fun`` and ``jac``
        always receive a 1-D array of shape (n,).
    jac : callable, True or None, default=None
        ``jac(x, *args) -> gradient``. None uses a forward finite-difference
        gradient (``scipy.optimize.approx_fprime``), which costs ``n + 1``
        evaluations of ``fun`` per iteration and is accurate to about 1e-8.
    args : tuple, default=()
        Extra arguments of ``fun`` and ``jac``.
    solver : {'sgd', 'nesterov', 'adagrad', 'rmsprop', 'adam'}, default='sgd'
        The update rule, as in the estimators.
    learning_rate : float, default=0.01
        Base step size, multiplied by the schedule.
    momentum : float, default=0.0
        Momentum (heavy ball, Nesterov, Adam's beta_1, RMSprop's momentum).
        Unlike the estimators, ``minimize`` never restarts it, so the textbook
        paths (oscillations included) can be drawn.
    beta_2 : float, default=0.999
        Decay of the squared-gradient average of 'adam' and 'rmsprop'.
    schedule : str, Schedule or callable, default='constant'
        A learning-rate schedule, as in the estimators; an "epoch" here is one
        iteration. 'adaptive' divides the rate when ``fun`` has not decreased
        for ``n_iter_no_change`` iterations.
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Success when the Euclidean norm of the gradient falls to ``tol``.
    n_iter_no_change : int, default=5
        Plateau length for the 'adaptive' schedule.
    callback : callable, default=None
        ``callback(intermediate_result)`` after each iteration, with an
        ``OptimizeResult`` holding ``x`` and ``fun``; raising ``StopIteration``
        ends the run.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``jac`` (gradient at ``x``), ``nit``, ``nfev``,
        ``success``, ``message``, plus ``path`` (the iterates, ``x0`` first,
        of shape (nit + 1, n)) and ``loss_curve`` (``fun`` at each iterate).

    Examples
    --------
    The ball rolling down ``f(x) = 6x^2 - 12x + 3`` from -0.9 with step 0.03:

    >>> from sklearn_gd import minimize
    >>> result = minimize(
    ...     lambda x: 6 * x[0] ** 2 - 12 * x[0] + 3,
    ...     x0=-0.9,
    ...     jac=lambda x: 12 * x - 12,
    ...     learning_rate=0.03,
    ... )
    >>> result.path[:4].ravel().round(4)
    array([-0.9   , -0.216 ,  0.2218,  0.5019])
    >>> round(float(result.x[0]), 6), result.success
    (1.0, True)
    """
    if not callable(fun):
        raise ValueError(f"fun must be callable, fun(x, *args) -> float; got {fun!r}.")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {sorted(SOLVERS)}; got {solver!r}.")
    _check_real("learning_rate", learning_rate, low=0.0, low_open=True)
    _check_real("momentum", momentum, low=0.0, high=1.0)
    _check_real("beta_2", beta_2, low=0.0, high=1.0)
    _check_real("tol", tol, low=0.0)
    _check_integer("max_iter", max_iter)
    _check_integer("n_iter_no_change", n_iter_no_change)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None; got {callback!r}.")
    schedule = resolve_schedule(schedule)
    x = np.array(x0, dtype=np.float64).ravel()
    if x.shape[0] == 0:
        raise ValueError("x0 must have at least one coordinate; got an empty array.")
    evaluations = [0]

    def counted(z, *extra):
        evaluations[0] += 1
        return fun(z, *extra)

    unchecked = _gradient_function(counted, jac, args)

    def value_and_gradient(z):
        value, gradient = unchecked(z)
        return value, _checked_gradient(gradient, z.shape[0])

    state = init_solver_state(x.shape[0], np.float64)
    unit = np.ones(x.shape[0])  # no preconditioner: the textbook update
    value, gradient = value_and_gradient(x.copy())
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        raise ValueError(f"fun or its gradient is not finite at x0={x0!r}.")
    path, losses = [x.copy()], [value]
    factor, best, stalled = 1.0, value, 0
    message = f"Maximum number of iterations ({max_iter}) reached."
    success = bool(_norm(gradient) <= tol)
    if success:
        message = "The gradient norm fell below tol."
    nit = 0
    while not success and nit < max_iter:
        rate = learning_rate * factor * schedule.multipliers([nit], [nit], max_iter)[0]
        solver_step(
            SOLVERS[solver], x, gradient, 1.0, 0, x.shape[0], rate, nit, momentum,
            beta_2, 0.0, 0.0, state, unit,
        )  # fmt: skip
        value, gradient = value_and_gradient(x.copy())
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            message = (
                f"fun or its gradient stopped being finite at iteration {nit + 1}; "
                f"the last finite iterate is returned. Try a learning_rate below "
                f"{rate / 10:.3g}."
            )
            x = path[-1].copy()
            value, gradient = value_and_gradient(x.copy())
            break
        nit += 1
        path.append(x.copy())
        losses.append(value)
        if _norm(gradient) <= tol:
            message, success = "The gradient norm fell below tol.", True
        if isinstance(schedule, Adaptive):
            stalled = 0 if value < best else stalled + 1
            best = min(best, value)
            if stalled >= n_iter_no_change:
                factor, stalled = factor / schedule.factor, 0
        if callback is not None:
            try:
                callback(OptimizeResult(x=x.copy(), fun=value))
            except StopIteration:
                message = "Stopped by the callback."
                break
    return OptimizeResult(
        x=x,
        fun=value,
        jac=gradient,
        nit=nit,
        nfev=evaluations[0],
        success=success,
        message=message,
        path=np.array(path),
        loss_curve=np.array(losses),
    )
