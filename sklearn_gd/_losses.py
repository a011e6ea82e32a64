"""Loss registry: each loss's value and derivative with respect to the raw prediction.

A loss is identified inside the compiled kernels by an integer code; the
``LOSSES`` table maps the public name to a :class:`Loss` record carrying that
code and what the training loop needs to know about it. The conventions are
scikit-learn's ``SGDRegressor`` / ``SGDClassifier`` ones, so objectives compare
one to one. For classification losses ``y`` is +1 or -1 and ``p`` is the
decision value; ``"log_loss"`` with more than two classes is the multinomial
(softmax) cross-entropy, handled by :func:`multinomial_loss_and_gradient`.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

SQUARED_ERROR = 0
HUBER = 1
EPSILON_INSENSITIVE = 2
SQUARED_EPSILON_INSENSITIVE = 3
LOG_LOSS = 4
HINGE = 5
MODIFIED_HUBER = 6
SQUARED_HINGE = 7
PERCEPTRON = 8
# Not a public loss: the hinge smoothed over a width passed as ``epsilon``.
SMOOTHED_HINGE = 9


@dataclass(frozen=True)
class Loss:
    """What the training loop knows about a loss.

    Attributes
    ----------
    code : int
        The integer the compiled kernels dispatch on.
    formula : str
        The loss of one sample, for documentation.
    curvature : float
        An upper bound of the second derivative with respect to the prediction
        (for non-smooth losses: that of their closest smooth relative). It scales
        the Lipschitz constant behind ``learning_rate="auto"``.
    is_classification : bool
        Whether targets are class labels encoded as +1 / -1.
    gives_probabilities : bool
        Whether ``predict_proba`` is defined.
    smoothed : int or None
        The code of a smooth relative within ``epsilon / 2`` below the loss,
        ``epsilon`` being its width (for the hinge: ``(1 - z)**2 / (2 epsilon)``
        within ``epsilon`` of the kink, ``1 - z - epsilon / 2`` beyond), which
        full-batch fits descend on instead (``sklearn_gd._accelerated``).
    loose_curvature : bool
        Whether the curvature bound is far above the loss's curvature near a
        typical optimum (the logistic loss: 1/4 only where p = 1/2), so that
        full-batch steps gain from following the measured curvature
        (``sklearn_gd._accelerated``). Where the bound is tight such steps
        gain nothing, and they would make the path depend on rounding.
    smooth : bool
        Whether the loss has a Lipschitz derivative, so that the gradient
        bounds the distance to the optimum (``sklearn_gd._convergence``).
    minimised_at_zero : bool
        Whether ``w = 0`` minimises the loss, as for the perceptron criterion:
        its training is then judged by what it learns on the way, and a rise
        of the objective is no reason to step back.
    """

    code: int
    formula: str
    curvature: float
    is_classification: bool
    gives_probabilities: bool = False
    minimised_at_zero: bool = False
    smooth: bool = True
    loose_curvature: bool = False
    smoothed: int | None = None


LOSSES = {
    "squared_error": Loss(SQUARED_ERROR, "(y - p)**2 / 2", 1.0, False),
    "huber": Loss(
        HUBER,
        "(y - p)**2 / 2 if |y - p| <= epsilon else epsilon * |y - p| - epsilon**2 / 2",
        1.0,
        False,
    ),
    "epsilon_insensitive": Loss(
        EPSILON_INSENSITIVE, "max(0, |y - p| - epsilon)", 1.0, False, smooth=False
    ),
    "squared_epsilon_insensitive": Loss(
        SQUARED_EPSILON_INSENSITIVE, "max(0, |y - p| - epsilon)**2", 2.0, False
    ),
    "log_loss": Loss(
        LOG_LOSS,
        "log(1 + exp(-y p)); softmax cross-entropy for more than two classes",
        0.25,
        True,
        True,
        loose_curvature=True,
    ),
    "hinge": Loss(
        HINGE, "max(0, 1 - y p)", 1.0, True, smooth=False, smoothed=SMOOTHED_HINGE
    ),
    "modified_huber": Loss(
        MODIFIED_HUBER,
        "max(0, 1 - y p)**2 if y p >= -1 else -4 y p",
        2.0,
        True,
        True,
    ),
    "squared_hinge": Loss(SQUARED_HINGE, "max(0, 1 - y p)**2", 2.0, True),
    "perceptron": Loss(
        PERCEPTRON, "max(0, -y p)", 1.0, True, minimised_at_zero=True, smooth=False
    ),
}

REGRESSION_LOSSES = tuple(
    name for name, loss in LOSSES.items() if not loss.is_classification
)
CLASSIFICATION_LOSSES = tuple(
    name for name, loss in LOSSES.items() if loss.is_classification
)
# The Hessian of the softmax cross-entropy is bounded by 1/2 in every direction.
MULTINOMIAL_CURVATURE = 0.5


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def loss_and_derivative(code, y, p, epsilon):
    """Return the loss of prediction ``p`` of target ``y`` and its derivative in p."""
    if code == SQUARED_ERROR:
        r = p - y
        return 0.5 * r * r, r
    if code == HUBER:
        r = p - y
        if abs(r) <= epsilon:
            return 0.5 * r * r, r
        if r > 0:
            return epsilon * r - 0.5 * epsilon * epsilon, epsilon
        return -epsilon * r - 0.5 * epsilon * epsilon, -epsilon
    if code == EPSILON_INSENSITIVE:
        r = p - y
        if r > epsilon:
            return r - epsilon, 1.0
        if r < -epsilon:
            return -r - epsilon, -1.0
        return 0.0, 0.0
    if code == SQUARED_EPSILON_INSENSITIVE:
        r = p - y
        if r > epsilon:
            return (r - epsilon) ** 2, 2.0 * (r - epsilon)
        if r < -epsilon:
            return (r + epsilon) ** 2, 2.0 * (r + epsilon)
        return 0.0, 0.0
    z = y * p
    if code == LOG_LOSS:
        # log(1 + exp(-z)) and its derivative -y / (1 + exp(z)), without overflow.
        if z > 18.0:
            e = np.exp(-z)
            return e, -y * e
        if z < -18.0:
            return -z, -y
        e = np.exp(-z)
        return np.log1p(e), -y * e / (1.0 + e)
    if code == HINGE:
        # As SGDClassifier: the kink belongs to the sloped side.
        if z <= 1.0:
            return 1.0 - z, -y
        return 0.0, 0.0
    if code == SMOOTHED_HINGE:
        if z >= 1.0:
            return 0.0, 0.0
        if z > 1.0 - epsilon:
            return (1.0 - z) ** 2 / (2.0 * epsilon), -y * (1.0 - z) / epsilon
        return 1.0 - z - 0.5 * epsilon, -y
    if code == MODIFIED_HUBER:
        if z >= 1.0:
            return 0.0, 0.0
        if z >= -1.0:
            return (1.0 - z) ** 2, -2.0 * y * (1.0 - z)
        return -4.0 * z, -4.0 * y
    if code == SQUARED_HINGE:
        if z < 1.0:
            return (1.0 - z) ** 2, -2.0 * y * (1.0 - z)
        return 0.0, 0.0
    # PERCEPTRON; at z = 0 the slope is -y, so training can leave w = 0.
    if z <= 0.0:
        return -z, -y
    return 0.0, 0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def multinomial_loss_and_gradient(y_onehot, p, dp, weight):
    """Softmax cross-entropy of scores ``p``; writes ``weight`` x its gradient into dp.

    Returns the (unweighted) loss ``logsumexp(p) - p[true class]``.
    """
    n_classes = p.shape[0]
    p_max = p[0]
    for k in range(1, n_classes):
        if p[k] > p_max:
            p_max = p[k]
    total = 0.0
    for k in range(n_classes):
        total += np.exp(p[k] - p_max)
    log_normaliser = p_max + np.log(total)
    loss = log_normaliser
    for k in range(n_classes):
        dp[k] = weight * (np.exp(p[k] - log_normaliser) - y_onehot[k])
        loss -= y_onehot[k] * p[k]
    return loss


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def row_loss_gradient(Y, i, p, dp, weight, loss_code, multinomial, epsilon):
    """Write ``weight * dL/dp`` of row ``i`` into dp; return ``weight * L``."""
    if multinomial:
        return weight * multinomial_loss_and_gradient(Y[i], p, dp, weight)
    total = 0.0
    for k in range(p.shape[0]):
        value, derivative = loss_and_derivative(loss_code, Y[i, k], p[k], epsilon)
        total += value
        dp[k] = weight * derivative
    return weight * total
