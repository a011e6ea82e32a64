"""Where fits end: the relative objective gap to the exact solver, never silent.

Every problem of ``tests/convergence_problems.py`` (bundled data raw and
scaled, near-separable with a small alpha, ill-conditioned and wide
regression, hinge, multinomial, L1 and elastic net) is fitted with default
settings and compared with Ridge, Lasso, ElasticNet, LogisticRegression or
SVC on the same objective. A fit either ends within 1e-3 of the optimum
(relative) or raises a ConvergenceWarning whose estimate is not below the
gap it measured: silence above 1e-3 is the one failure. Default fits must
also warn where the issue that built this rule measured them failing, and
no longer do on the problems listed in ``CONVERGED``.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

from .convergence_problems import (
    Problem,
    exact_optimum,
    objective,
    problems,
    relative_gap,
)

PROBLEMS = {problem.name: problem for problem in problems()}
OPTIMA = {}
GOAL = 1e-3
# Default full-batch fits that reach the goal without a warning (measured at
# 4e-12 .. 4.4e-6, but the ill-conditioned one at 2.7e-5).
CONVERGED = [
    "breast_cancer scaled",
    "digits scaled",
    "wine raw",
    "near-separable, alpha 1e-6",
    "diabetes raw",
    "diabetes scaled",
    "ill-conditioned 1e4",
    "wide 50 x 5000, alpha 1e-2",
    "wide 50 x 5000, alpha 1e-4",
    "diabetes scaled, lasso",
]


def optimum(name):
    if name not in OPTIMA:
        OPTIMA[name] = exact_optimum(PROBLEMS[name])
    return OPTIMA[name]


def fit(problem, **params):
    """Return ``(estimator, gap, warned)`` of a fit of ``problem``."""
    estimator = GDClassifier if problem.classifier else GDRegressor
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = estimator(**problem.params(), **params).fit(problem.X, problem.y)
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return model, relative_gap(problem, model, optimum(problem.name)), warned


def assert_not_silent(model, gap, warned):
    """A fit above the goal warned, and its estimate covers what it left."""
    if gap <= GOAL:
        return
    assert warned, f"ended {gap:.2e} above the optimum without a warning"
    assert "before it converged" in str(warned[0].message)
    assert model.gap_estimate_ >= gap, (model.gap_estimate_, gap)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_default_fit_reaches_the_optimum_or_warns(name):
    model, gap, warned = fit(PROBLEMS[name])
    assert_not_silent(model, gap, warned)
    if name in CONVERGED:
        assert gap <= GOAL and not warned, (gap, model.gap_estimate_)
        # The estimate is an upper estimate of the gap, and met tol.
        assert gap <= model.gap_estimate_ <= model.tol


SCALED = [
    "breast_cancer scaled",
    "digits scaled",
    "diabetes scaled",
    "diabetes scaled, lasso",
    "near-separable, alpha 1e-6",
]


@pytest.mark.parametrize("solver", ["sgd", "nesterov", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("name", SCALED)
def test_every_solver_in_full_batch_reaches_the_optimum_or_warns(name, solver):
    assert_not_silent(*fit(PROBLEMS[name], solver=solver))


@pytest.mark.parametrize("solver", ["auto", "sgd", "adam"])
@pytest.mark.parametrize("name", SCALED)
def test_mini_batches_end_near_the_optimum_or_warn(name, solver):
    model, gap, warned = fit(PROBLEMS[name], solver=solver, batch_size=64)
    assert_not_silent(model, gap, warned)
    if warned:
        assert "batch_size='full'" in str(warned[0].message)


def test_gap_estimate_of_the_returned_model_is_its_own():
    problem = PROBLEMS["digits scaled"]
    model, gap, _ = fit(problem, max_iter=30, tol=None)
    # best_loss_ is the objective of the coefficients the fit returned.
    assert np.isclose(
        model.best_loss_, objective(problem, model.coef_, model.intercept_), rtol=1e-9
    )
    assert model.gap_estimate_ >= gap > 0.0


def test_saga_mini_batches_reach_the_optimum_on_many_rows():
    # SAGA needs about n / b + kappa updates an e-fold: many epochs on the
    # bundled data sets, a handful where rows outnumber the condition number
    # (200,000 rows: 11 to 14 epochs, against sgd's 65 that end 1e-6 away
    # and warn; benchmarks/convergence.py).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20)) * rng.uniform(0.5, 2, 20)
    w = rng.normal(size=20)
    y = (X @ w / np.sqrt(20) + rng.logistic(size=20_000) > 0).astype(int)
    problem = Problem("many rows", X, y, "log_loss")
    PROBLEMS[problem.name] = problem
    model, gap, warned = fit(problem, batch_size=64, random_state=0)
    assert model.solver_ == "saga"
    assert not warned
    assert gap <= model.gap_estimate_ <= model.tol
    assert model.n_iter_ < 50


def test_default_perceptron_learns_with_sgd():
    # The perceptron criterion is lowest at w = 0, so there is no optimum to
    # accelerate towards: "auto" keeps sgd (an accelerated fit that stepped
    # back to its best point returned w = 0).
    X, y = make_classification(200, 5, random_state=0)
    model = GDClassifier(loss="perceptron").fit(X, y)
    assert model.solver_ == "sgd"
    assert model.score(X, y) > 0.9


def test_least_squares_without_penalty_is_not_certified():
    # No penalty: nothing bounds the gap, so the fit stops on the plateau
    # rule, reports nan, and does not warn before max_iter.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GDRegressor(penalty=None).fit(X, y)
    assert np.isnan(model.gap_estimate_)
    assert model.n_iter_ < model.max_iter
    exact = LinearRegression().fit(X, y)
    residual = np.mean((y - exact.predict(X)) ** 2)
    assert np.mean((y - model.predict(X)) ** 2) <= residual * (1 + 2e-3)


def test_partial_fit_after_a_saga_fit_takes_steps_sized_for_sgd():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor(batch_size=8, random_state=0).fit(X, y)
    assert model.solver_ == "saga"
    fitted = model.best_loss_
    for _ in range(20):
        model.partial_fit(X, y)
    assert model.solver_ == "sgd"
    problem = Problem("diabetes", X, y, "squared_error")
    # SAGA's rate with sgd's momentum was 3.3 times too long: the objective
    # doubled. Sized for sgd, it stays within sgd's noise of the optimum.
    assert objective(problem, model.coef_, model.intercept_) <= 1.05 * fitted
