"""Loss values and slopes: against scikit-learn's SGD losses and finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp, softmax
from sklearn.linear_model import _sgd_fast

from sklearn_gd._losses import (
    LOSSES,
    loss_and_derivative,
    multinomial_loss_and_gradient,
)

PREDICTIONS = np.concatenate([np.linspace(-3.1, 3.3, 41), [-1.0, 0.0, 1.0]])
EPSILON = 0.4

SKLEARN_SGD_LOSSES = {
    "hinge": _sgd_fast.Hinge(1.0),
    "perceptron": _sgd_fast.Hinge(0.0),
    "squared_hinge": _sgd_fast.SquaredHinge(1.0),
    "modified_huber": _sgd_fast.ModifiedHuber(),
    "epsilon_insensitive": _sgd_fast.EpsilonInsensitive(EPSILON),
    "squared_epsilon_insensitive": _sgd_fast.SquaredEpsilonInsensitive(EPSILON),
}


def _targets(name):
    return (-1.0, 1.0) if LOSSES[name].is_classification else (-0.7, 0.0, 1.9)


@pytest.mark.parametrize("name", sorted(SKLEARN_SGD_LOSSES))
def test_losses_equal_sklearn_sgd_losses(name):
    reference = SKLEARN_SGD_LOSSES[name]
    code = LOSSES[name].code
    for y in _targets(name):
        for p in PREDICTIONS:
            value, derivative = loss_and_derivative(code, y, p, EPSILON)
            assert value == pytest.approx(reference.py_loss(p, y), abs=1e-12)
            assert derivative == pytest.approx(reference.py_dloss(p, y), abs=1e-12)


@pytest.mark.parametrize(
    "name, formula",
    [
        ("squared_error", lambda y, p: 0.5 * (y - p) ** 2),
        ("log_loss", lambda y, p: np.log1p(np.exp(-y * p))),
        (
            "huber",
            lambda y, p: np.where(
                np.abs(y - p) <= EPSILON,
                0.5 * (y - p) ** 2,
                EPSILON * np.abs(y - p) - 0.5 * EPSILON**2,
            ),
        ),
    ],
)
def test_losses_equal_their_formulas(name, formula):
    for y in _targets(name):
        for p in PREDICTIONS:
            value, _ = loss_and_derivative(LOSSES[name].code, y, p, EPSILON)
            assert value == pytest.approx(float(formula(y, p)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", list(LOSSES))
def test_derivatives_equal_finite_differences(name):
    code = LOSSES[name].code
    h = 1e-6
    for y in _targets(name):
        # Stay off the kinks, where the one-sided slopes differ.
        for p in np.linspace(-3.1, 3.3, 41) + 0.0123:
            _, derivative = loss_and_derivative(code, y, p, EPSILON)
            up, _ = loss_and_derivative(code, y, p + h, EPSILON)
            down, _ = loss_and_derivative(code, y, p - h, EPSILON)
            assert derivative == pytest.approx((up - down) / (2 * h), abs=1e-5)


def test_log_loss_is_finite_for_extreme_margins():
    code = LOSSES["log_loss"].code
    assert loss_and_derivative(code, 1.0, 800.0, 0.0) == pytest.approx((0.0, 0.0))
    assert loss_and_derivative(code, 1.0, -800.0, 0.0) == pytest.approx((800.0, -1.0))


def test_multinomial_loss_and_gradient_equal_softmax_cross_entropy():
    scores = np.array([0.3, -1.2, 2.5, 700.0])
    onehot = np.array([0.0, 0.0, 1.0, 0.0])
    gradient = np.empty(4)
    loss = multinomial_loss_and_gradient(onehot, scores, gradient, 2.0)
    probabilities = softmax(scores)
    assert loss == pytest.approx(logsumexp(scores) - scores[2], rel=1e-12)
    assert_allclose(gradient, 2.0 * (probabilities - onehot), atol=1e-12)
