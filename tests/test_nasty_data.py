"""Defaults on awkward data: unscaled, constant, duplicated, wide, imbalanced, huge.

Every solver and every schedule with learning_rate="auto" must converge on
each without tuning: no divergence, and a training objective ``f`` with

    f - f* <= 1e-3 |f*| + 1e-5 (f_null - f*),

where ``f*`` is the exact optimum (Ridge / LogisticRegression on the same
objective) and ``f_null`` that of the best intercept-only model. Both terms
scale with the objective, so the verdict does not depend on the units of
``y``: an absolute bound of 1e-5 failed sgd on the wide problem with ``y``
in tens (gap 35 times the bound) and passed every solver with ``y`` in
tenths, for the same fit. These tests set ``tol=1e-9`` (a relative gap)
and ``max_iter=20_000``, so that they measure where each solver and schedule
can get rather than where the default ``tol`` stops it. One
group of cases does not converge and is a strict expected failure, so that a
fix shows up. Fits with every default, ``tol`` included, must end close to
the optimum too (last test).
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._schedules import SCHEDULES as SCHEDULE_NAMES

ALPHA = 1e-4
TOL = 1e-9
MAX_ITER = 20_000
SCHEDULES = list(SCHEDULE_NAMES)


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


def converged(reached, optimum, null):
    """Return whether ``reached`` is within the stated tolerance (module doc)."""
    return reached - optimum <= 1e-3 * abs(optimum) + 1e-5 * (null - optimum)


def ridge_objective(coef, intercept, X, y):
    residual = y - X @ np.ravel(coef) - intercept
    return 0.5 * np.mean(residual**2) + 0.5 * ALPHA * np.sum(np.square(coef))


SOLVERS = ["sgd", "nesterov", "adagrad", "rmsprop", "adam"]


SHORT = {
    # Three points in three classes, nearly separable: the optimum is far out
    # (largest coefficient 5.6) where the curvature is small. Adagrad has no
    # momentum, and there it is plain gradient descent with a diagonal scaling
    # fixed by its early gradients: with a constant rate it needs 17,775
    # epochs (sgd with momentum 0.9: 1,479), and a schedule annealed over
    # max_iter leaves it a half to a seventh of that. Plain gradient descent
    # (sgd, momentum=0) measures the same: 11,240 epochs at a constant rate,
    # and 34, 20 and 9 times the bound for invscaling, exponential and step,
    # against adagrad's 31, 17 and 8. Cosine and warm restarts ended 1.3 and
    # 1.02 times the bound before full-batch fits judged their last step with
    # one more exact pass; they now pass. A five times bolder full-batch start
    # clears all of them but makes other fits sensitive to rounding (see
    # sklearn_gd._learning_rate).
    "one_sample_per_class": lambda solver, schedule: (
        solver == "adagrad" and schedule in ("invscaling", "exponential", "step")
    ),
}


def cases(kinds):
    """Every (kind, solver, schedule); the known shortfalls as strict xfails."""
    params = []
    for kind in kinds:
        for solver in SOLVERS:
            for schedule in SCHEDULES:
                short = SHORT.get(kind, lambda *args: False)(solver, schedule)
                mark = (
                    pytest.mark.xfail(strict=True, reason="see SHORT") if short else ()
                )
                params.append(pytest.param(kind, solver, schedule, marks=mark))
    return params


REGRESSION_KINDS = [
    "plain",
    "unscaled",
    "constant_column",
    "duplicated_columns",
    "wide",
    "huge_targets",
]


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


def _problem(task, kind):
    """Return ``(estimator class, X, y, objective, optimum, null)`` of a data set."""
    if task == "classification":
        X, y = classification_data(kind)
        classes = np.unique(y)
        exact = LogisticRegression(
            C=1 / (ALPHA * len(y)), solver="newton-cholesky", tol=1e-12, max_iter=1000
        ).fit(X, y)

        def objective(model):
            return log_loss_objective(model, X, y, classes)

        frequencies = np.unique(y, return_counts=True)[1] / len(y)
        null = -np.sum(frequencies * np.log(frequencies))  # class frequencies
        optimum = objective((exact.coef_, exact.intercept_))
        return GDClassifier, X, y, objective, optimum, null
    X, y = regression_data(kind)
    exact = Ridge(alpha=ALPHA * len(y), solver="svd").fit(X, y)

    def objective(model):
        return ridge_objective(*model, X, y)

    null = ridge_objective(np.zeros(X.shape[1]), np.mean(y), X, y)
    optimum = objective((exact.coef_, exact.intercept_))
    return GDRegressor, X, y, objective, optimum, null


def _fit_full_batch(task, kind, solver, schedule):
    estimator, X, y, objective, optimum, null = _problem(task, kind)
    model = estimator(solver=solver, schedule=schedule, tol=TOL, max_iter=MAX_ITER)
    model.fit(X, y)
    assert np.isfinite(model.coef_).all()
    assert converged(objective((model.coef_, model.intercept_)), optimum, null)


@pytest.mark.parametrize("kind, solver, schedule", cases(REGRESSION_KINDS))
def test_regressor_defaults_converge_on_awkward_data(kind, solver, schedule):
    _fit_full_batch("regression", kind, solver, schedule)


@pytest.mark.parametrize("kind, solver, schedule", cases(CLASSIFICATION_KINDS))
def test_classifier_defaults_converge_on_awkward_data(kind, solver, schedule):
    _fit_full_batch("classification", kind, solver, schedule)


# Imbalanced classes put the optimum far out (intercept -9.4) on a flat slope,
# where the default tol=1e-4 stops every fit early. With mini-batches adam at
# batch 32 leaves 0.2 to 0.32 of the way, as MLPClassifier(batch_size=32)
# leaves 0.30 after 550 to 640 epochs (SGDClassifier ends above the null
# model); full batch, adagrad 0.064 and adam 0.032 (0.20 before its bolder
# full-batch start).
IMBALANCED_LEFT = {1: 0.4, 32: 0.4, "full": 0.1}


@pytest.mark.parametrize(
    "task, kind",
    [("regression", kind) for kind in REGRESSION_KINDS]
    + [("classification", kind) for kind in CLASSIFICATION_KINDS],
)
@pytest.mark.parametrize("batch_size", [1, 32, "full"])
def test_every_default_gets_close_on_awkward_data(task, kind, batch_size):
    # With every default the fits stop on tol=1e-4, at a noisy objective for
    # mini-batches, so the bound is on the share of the way from the optimum
    # back to the intercept-only model that is left: 5% (the worst measured,
    # 1.7%, is adam at batch 32 on three points). A constant rate left up to
    # 55% for sgd with mini-batches.
    estimator, X, y, objective, optimum, null = _problem(task, kind)
    bound = IMBALANCED_LEFT[batch_size] if kind == "imbalanced" else 0.05
    for solver in SOLVERS:
        for seed in (0, 1):
            model = estimator(solver=solver, batch_size=batch_size, random_state=seed)
            model.fit(X, y)
            assert np.isfinite(model.coef_).all()
            left = (objective((model.coef_, model.intercept_)) - optimum) / (
                null - optimum
            )
            assert left <= bound, (solver, seed, left)
