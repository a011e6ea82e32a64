"""minimize: textbook numbers, the shared solvers, and its result object."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_gd import Cosine, minimize

from .reference import reference_epoch


def parabola(x):
    return 6 * x[0] ** 2 - 12 * x[0] + 3


def parabola_gradient(x):
    return 12 * x - 12


def bowl(v):
    x, y = v
    return 6 * x**2 + 9 * y**2 - 12 * x - 14 * y + 3


def bowl_gradient(v):
    x, y = v
    return np.array([12 * x - 12, 18 * y - 14])


def test_one_dimensional_sequence_of_the_textbook():
    result = minimize(parabola, -0.9, parabola_gradient, learning_rate=0.03)
    # The sequence as textbooks print it: cut (not rounded) to 4 decimals.
    expected = [-0.9, -0.216, 0.2217, 0.5019, 0.6812, 0.7959, 0.8694]
    assert_allclose(np.trunc(result.path[:7, 0] * 1e4) / 1e4, expected, atol=1e-12)
    # Closed form: x_t - 1 = (1 - 0.36)^t (x_0 - 1).
    t = np.arange(len(result.path))
    assert_allclose(result.path[:, 0], 1 - 1.9 * 0.64**t, atol=1e-12)
    assert result.success
    assert result.x[0] == pytest.approx(1.0, abs=1e-7)
    assert result.fun == pytest.approx(-3.0)
    assert_allclose(result.loss_curve, [parabola(p) for p in result.path])


@pytest.mark.parametrize("start", [(-1.0, -1.0), (2.5, 2.0), (-2.0, 1.5)])
def test_two_dimensional_bowl_reaches_its_minimum_from_every_start(start):
    result = minimize(bowl, start, bowl_gradient, learning_rate=0.03, tol=1e-10)
    assert result.success
    assert_allclose(result.x, [1.0, 7 / 9], atol=1e-10)
    assert_allclose(result.path[0], start)
    assert np.all(np.diff(result.loss_curve) <= 1e-12)


@pytest.mark.parametrize("solver", ["sgd", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_solver_finds_the_bowl_minimum(solver):
    settings = {"sgd": 0.05, "nesterov": 0.05, "adagrad": 0.5}
    result = minimize(
        bowl, (-1.0, -1.0), bowl_gradient, solver=solver, momentum=0.5,
        learning_rate=settings.get(solver, 0.05), schedule=Cosine(),
        max_iter=3000, tol=1e-8,
    )  # fmt: skip
    assert_allclose(result.x, [1.0, 7 / 9], atol=1e-3)


def test_steps_are_those_of_the_shared_solver_code():
    # A least-squares objective, whose full-batch step the estimators' numpy
    # reference loop also takes, must give the same adam iterates.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)

    def objective(w):
        return 0.5 * np.mean((X @ w - y) ** 2)

    def gradient(w):
        return X.T @ (X @ w - y) / len(y)

    result = minimize(
        objective, np.zeros(3), gradient, solver="adam", momentum=0.9,
        learning_rate=0.05, max_iter=5, tol=0.0,
    )  # fmt: skip
    W, state = np.zeros((3, 1)), [np.zeros((4, 1)), np.zeros((4, 1))]
    for t in range(5):
        W, _, state, _ = reference_epoch(
            X, y[:, None], np.ones(20), np.arange(20), 20, [0.05], W, np.zeros(1),
            state, t, fit_intercept=False, loss="squared_error", epsilon=0.1,
            solver="adam", momentum=0.9, beta_2=0.999, l2=0.0, l1=0.0,
        )  # fmt: skip
        assert_allclose(result.path[t + 1], W.ravel(), rtol=1e-10)


def test_finite_difference_gradient_when_jac_is_none():
    result = minimize(bowl, (0.0, 0.0), learning_rate=0.03, tol=1e-5)
    assert result.success
    assert_allclose(result.x, [1.0, 7 / 9], atol=1e-5)
    assert result.nfev > 3 * result.nit  # value plus n + 1 for each gradient


def test_jac_true_takes_value_and_gradient_from_fun():
    result = minimize(
        lambda v: (bowl(v), bowl_gradient(v)), (0.0, 0.0), jac=True, learning_rate=0.03
    )
    assert_allclose(result.x, [1.0, 7 / 9], atol=1e-6)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_too_large_a_step_diverges_with_the_last_finite_iterate():
    result = minimize(
        parabola, -0.9, parabola_gradient, learning_rate=0.5, max_iter=2000
    )
    assert not result.success
    assert "stopped being finite" in result.message
    assert np.isfinite(result.x).all() and np.isfinite(result.fun)
    assert np.isfinite(result.path).all()


def test_callback_sees_each_iterate_and_can_stop_the_run():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result.fun)
        if len(seen) == 3:
            raise StopIteration

    result = minimize(parabola, -0.9, parabola_gradient, learning_rate=0.03,
                      callback=callback)  # fmt: skip
    assert result.nit == 3
    assert_allclose(seen, result.loss_curve[1:])
    assert result.message == "Stopped by the callback."


def test_adaptive_schedule_calms_an_oscillating_step():
    # Step 0.17 multiplies x - 1 by -1.04 each iteration: f grows. After five
    # iterations without progress the step is divided by 5, and x converges.
    result = minimize(
        parabola, -0.9, parabola_gradient, learning_rate=0.17, schedule="adaptive",
        max_iter=500, tol=1e-8,
    )  # fmt: skip
    assert result.success
    assert result.x[0] == pytest.approx(1.0, abs=1e-8)
    growing = minimize(parabola, -0.9, parabola_gradient, learning_rate=0.17)
    assert not growing.success


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"solver": "newton"}, "solver"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"max_iter": 0}, "max_iter"),
        ({"jac": "2-point"}, "jac"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        minimize(parabola, 0.0, **{"jac": parabola_gradient, **kwargs})
