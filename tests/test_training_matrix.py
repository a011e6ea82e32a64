"""Every solver x schedule x batch mode trains: the objective falls, nothing breaks.

And every one of them, given a learning rate far too large, stops with the
divergence message and keeps finite coefficients.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor, WarmRestarts
from sklearn_gd._schedules import SCHEDULES as SCHEDULE_NAMES

SOLVERS = ["sgd", "nesterov", "adagrad", "rmsprop", "adam"]
SCHEDULES = [
    *SCHEDULE_NAMES,
    WarmRestarts(period=2, mult=2),
    lambda t: 1.0 / np.sqrt(1.0 + t),
]
BATCHES = [1, 16, "full"]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(120, 6, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        120, 6, n_classes=3, n_informative=4, class_sep=2.0, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def _objective(model, X, y):
    return model.loss_curve_[0], model.loss_curve_[-1]


@pytest.mark.parametrize("batch_size", BATCHES)
@pytest.mark.parametrize(
    "schedule", SCHEDULES, ids=lambda s: getattr(s, "__name__", str(s))
)
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_combination_lowers_the_regression_objective(
    regression, solver, schedule, batch_size
):
    X, y = regression
    model = GDRegressor(
        solver=solver, schedule=schedule, batch_size=batch_size, max_iter=30,
        random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    first, last = _objective(model, X, y)
    assert np.isfinite(model.coef_).all()
    assert last < first
    assert model.predict(X).shape == y.shape


@pytest.mark.parametrize("batch_size", BATCHES)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "loss", ["log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron"]
)
def test_every_classification_loss_and_solver_learns(
    classification, loss, solver, batch_size
):
    X, y = classification
    model = GDClassifier(
        loss=loss, solver=solver, batch_size=batch_size, max_iter=30, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    first, last = _objective(model, X, y)
    # The perceptron criterion max(0, -y p) is 0 at w = 0, its trivial minimum:
    # it is judged by what it learns, not by its objective.
    if loss != "perceptron":
        assert last < first
    assert model.score(X, y) > (0.6 if loss == "perceptron" else 0.7)  # chance: 0.33


@pytest.mark.parametrize(
    "loss",
    ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"],
)
def test_every_regression_loss_fits_a_linear_signal(regression, loss):
    X, y = regression
    model = GDRegressor(loss=loss, epsilon=1.0, random_state=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.score(X, y) > 0.95


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("batch_size", BATCHES)
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_huge_learning_rate_always_stops_with_the_message(
    regression, classification, solver, batch_size, sparse
):
    for estimator, (X, y), loss in [
        (GDRegressor, regression, "squared_error"),
        (GDRegressor, regression, "huber"),
        (GDClassifier, classification, "log_loss"),
        (GDClassifier, classification, "hinge"),
    ]:
        for penalty in ("l2", "l1", None):
            model = estimator(
                solver=solver, batch_size=batch_size, loss=loss, penalty=penalty,
                learning_rate=1e8, max_iter=50, random_state=0,
            )  # fmt: skip
            X_fit = sp.csr_matrix(X) if sparse else X
            # The epoch, the rate used and one that would work.
            message = (
                r"diverged .* at epoch \d+ with learning_rate_=1e\+08 .* Try "
                r"learning_rate='auto' or a learning_rate below 1e\+07"
            )
            with pytest.raises(DivergenceError, match=message):
                model.fit(X_fit, y)
            assert np.isfinite(model.coef_).all(), (loss, penalty)
            assert np.isfinite(model.intercept_).all(), (loss, penalty)
            scores = (
                model.predict(X) if loss in ("squared_error", "huber")
                else model.decision_function(X)
            )  # fmt: skip
            assert np.isfinite(scores).all(), (loss, penalty)
