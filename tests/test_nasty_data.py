"""Defaults on awkward data: unscaled, constant, duplicated, wide, imbalanced, huge.

Every solver with learning_rate="auto" must converge on each without tuning:
no divergence, and a training objective within 1e-3 (relative) + 1e-5 of the
exact optimum (Ridge / LogisticRegression on the same objective). The
adaptive solvers do not yet on two cases, marked as strict expected failures
so that a fix shows up. ``tol`` is absolute, as in SGDRegressor, so the
default 1e-4 stops slow, sublinear fits (separable classes) early; these
tests set ``tol=1e-7``.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_gd import GDClassifier, GDRegressor

ALPHA = 1e-4
TOL = 1e-7


def regression_data(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=200)
    if kind == "unscaled":
        X = X * [1e6, 1e-3, 1, 1, 1] + [5e6, 0, 0, 0, 0]
    elif kind == "constant_column":
        X[:, 0] = 3.0
    elif kind == "duplicated_columns":
        X = np.column_stack([X, X[:, :2]])
    elif kind == "wide":
        X = rng.normal(size=(20, 300))
        y = X[:, :3] @ [1.0, 2.0, 3.0]
    elif kind == "huge_targets":
        y = y * 1e9 + 1e10
    return X, y


def ridge_objective(coef, intercept, X, y):
    residual = y - X @ np.ravel(coef) - intercept
    return 0.5 * np.mean(residual**2) + 0.5 * ALPHA * np.sum(np.square(coef))


SOLVERS = ["sgd", "nesterov", "adagrad", "rmsprop", "adam"]
ADAPTIVE_GAP = pytest.mark.xfail(
    strict=True,
    reason="adaptive solvers stop 1e-4 to 1e-1 short of the optimum here",
)


def cases(kinds, hard):
    """Every (kind, solver); the adaptive solvers on ``hard`` kinds expected to fail."""
    return [
        pytest.param(kind, solver, marks=ADAPTIVE_GAP)
        if kind in hard and solver in ("adagrad", "rmsprop", "adam")
        else (kind, solver)
        for kind in kinds
        for solver in SOLVERS
    ]


REGRESSION_KINDS = [
    "plain",
    "unscaled",
    "constant_column",
    "duplicated_columns",
    "wide",
    "huge_targets",
]


@pytest.mark.parametrize("kind, solver", cases(REGRESSION_KINDS, hard=["wide"]))
def test_regressor_defaults_converge_on_awkward_data(kind, solver):
    X, y = regression_data(kind)
    exact = Ridge(alpha=ALPHA * len(y), solver="svd").fit(X, y)
    optimum = ridge_objective(exact.coef_, exact.intercept_, X, y)
    model = GDRegressor(solver=solver, tol=TOL, max_iter=5000).fit(X, y)
    reached = ridge_objective(model.coef_, model.intercept_, X, y)
    assert np.isfinite(model.coef_).all()
    assert reached - optimum <= 1e-3 * abs(optimum) + 1e-5


def log_loss_objective(model_or_coef, X, y, classes):
    coef, intercept = model_or_coef
    scores = X @ np.atleast_2d(coef).T + intercept
    if scores.shape[1] == 1:
        margins = np.where(y == classes[1], 1.0, -1.0) * scores[:, 0]
        loss = np.mean(np.logaddexp(0.0, -margins))
    else:
        index = np.searchsorted(classes, y)
        loss = np.mean(logsumexp(scores, axis=1) - scores[np.arange(len(y)), index])
    return loss + 0.5 * ALPHA * np.sum(np.square(coef))


def classification_data(kind):
    rng = np.random.default_rng(1)
    if kind == "one_sample_per_class":
        return rng.normal(size=(3, 4)), np.array([0, 1, 2])
    X = rng.normal(size=(300, 4))
    scores = X @ rng.normal(size=(4, 3))
    y = np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)
    if kind == "imbalanced":
        y = (X[:, 0] + 0.5 * rng.normal(size=300) > 2.0).astype(int)  # ~3% positive
    elif kind == "unscaled":
        X = X * [1e4, 1e-2, 1.0, 100.0]
    return X, y


CLASSIFICATION_KINDS = ["plain", "one_sample_per_class", "imbalanced", "unscaled"]


@pytest.mark.parametrize(
    "kind, solver", cases(CLASSIFICATION_KINDS, hard=["one_sample_per_class"])
)
def test_classifier_defaults_converge_on_awkward_data(kind, solver):
    X, y = classification_data(kind)
    classes = np.unique(y)
    exact = LogisticRegression(
        C=1 / (ALPHA * len(y)), solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(X, y)
    optimum = log_loss_objective((exact.coef_, exact.intercept_), X, y, classes)
    model = GDClassifier(solver=solver, tol=TOL, max_iter=5000).fit(X, y)
    reached = log_loss_objective((model.coef_, model.intercept_), X, y, classes)
    assert np.isfinite(model.coef_).all()
    assert reached - optimum <= 1e-3 * abs(optimum) + 1e-5
