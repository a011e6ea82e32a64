"""Property tests: random training set-ups on random well-posed data.

Hypothesis draws the solver, schedule, loss, penalty, batch size, dtype,
format and sample weights; every fit must finish with finite coefficients and
an objective below the one it started from, predict in the right shape and
dtype, repeat bit for bit with the same random_state, and survive pickling.
"""

import pickle
import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import Cosine, GDClassifier, GDRegressor, Step, WarmRestarts
from sklearn_gd._schedules import SCHEDULES as SCHEDULE_NAMES

from .reference import loss_derivative

# Every named schedule, the default and a few schedule objects.
SCHEDULES = st.sampled_from(
    [
        "auto",
        *SCHEDULE_NAMES,
        Cosine(period=5),
        Step(step_size=2, gamma=0.7),
        WarmRestarts(period=3, mult=2),
    ]
)
COMMON = dict(
    solver=st.sampled_from(["sgd", "nesterov", "adagrad", "rmsprop", "adam"]),
    schedule=SCHEDULES,
    penalty=st.sampled_from([None, "l2", "l1", "elasticnet"]),
    batch_size=st.sampled_from([1, 3, 16, "full", "auto"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    sparse=st.booleans(),
    weighted=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)


def _data(seed, n_features, dtype, sparse, weighted):
    rng = np.random.default_rng(seed)
    n_samples = int(rng.integers(12, 60))
    X = rng.normal(size=(n_samples, n_features))
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
    coef = rng.normal(size=n_features)
    weights = None
    if weighted:
        weights = rng.integers(0, 4, size=n_samples).astype(float)
        weights[:2] = 1.0
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), X, coef, weights, rng


def _objective(model, X, Y, weights, loss, multinomial):
    """The exact penalised objective of the fitted coefficients, in numpy."""
    coef = np.atleast_2d(model.coef_).astype(np.float64)
    scores = X.astype(np.float64) @ coef.T + model.intercept_.astype(np.float64)
    value, _ = loss_derivative("multinomial" if multinomial else loss, Y, scores, 0.1)
    return _penalised(value, coef, weights, model)


def _penalised(value, coef, weights, model):
    weights = np.ones(len(value)) if weights is None else weights
    mean_loss = float(weights @ value.sum(axis=1)) / weights.sum()
    l1_share = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": model.l1_ratio}
    share = l1_share[model.penalty]
    if model.penalty is None:
        return mean_loss
    penalty = 0.5 * (1 - share) * np.sum(coef**2) + share * np.abs(coef).sum()
    return mean_loss + model.alpha * penalty


def _fit_quietly(model, X, y, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, sample_weight=weights)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loss=st.sampled_from(
        ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
    ),
    n_outputs=st.sampled_from([1, 2]),
    **COMMON,
)
def test_regressor_properties(
    loss, n_outputs, solver, schedule, penalty, batch_size, dtype, sparse, weighted,
    seed,
):  # fmt: skip
    X_fit, X, coef, weights, rng = _data(seed, 4, dtype, sparse, weighted)
    Y = np.column_stack(
        [X @ coef * (k + 1) + rng.normal(size=len(X)) for k in range(n_outputs)]
    )
    y = Y[:, 0] if n_outputs == 1 else Y
    model = GDRegressor(
        loss=loss, solver=solver, schedule=schedule, penalty=penalty,
        batch_size=batch_size, max_iter=25, random_state=seed % 1000,
    )  # fmt: skip
    _fit_quietly(model, X_fit, y, weights)
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
    assert model.coef_.dtype == dtype
    predictions = model.predict(X_fit)
    assert predictions.shape == y.shape
    assert predictions.dtype == dtype

    final = _objective(model, X, Y.astype(np.float64), weights, loss, False)
    start_value, _ = loss_derivative(loss, Y, np.zeros_like(Y), 0.1)
    start = _penalised(start_value, np.zeros(1), weights, model)
    assert final < start

    again = _fit_quietly(clone(model), X_fit, y, weights)  # same random_state
    assert_array_equal(again.coef_, model.coef_)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X_fit), predictions)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loss=st.sampled_from(
        ["log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron"]
    ),
    n_classes=st.sampled_from([2, 3]),
    **COMMON,
)
def test_classifier_properties(
    loss, n_classes, solver, schedule, penalty, batch_size, dtype, sparse, weighted,
    seed,
):  # fmt: skip
    X_fit, X, _, weights, rng = _data(seed, 4, dtype, sparse, weighted)
    scores = X @ rng.normal(size=(4, n_classes)) + rng.normal(size=(len(X), n_classes))
    y = np.argmax(scores, axis=1)
    y[:n_classes] = np.arange(n_classes)  # every class present
    labels = np.array(["ant", "bee", "cat"])[y]
    model = GDClassifier(
        loss=loss, solver=solver, schedule=schedule, penalty=penalty,
        batch_size=batch_size, max_iter=25, random_state=seed % 1000,
    )  # fmt: skip
    _fit_quietly(model, X_fit, labels, weights)
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
    predicted = model.predict(X_fit)
    assert predicted.shape == (len(X),) and set(predicted) <= set(labels)
    decision = model.decision_function(X_fit)
    assert decision.dtype == dtype
    assert decision.shape == ((len(X),) if n_classes == 2 else (len(X), n_classes))
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(X_fit)
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)

    multinomial = loss == "log_loss" and n_classes > 2
    if n_classes == 2:
        Y = np.where(y == 1, 1.0, -1.0)[:, None]
    else:
        Y = np.eye(n_classes)[y] if multinomial else 2 * np.eye(n_classes)[y] - 1
    final = _objective(model, X, Y, weights, loss, multinomial)
    if multinomial:
        start_value = np.full((len(X), 1), logsumexp(np.zeros(n_classes)))
    else:
        start_value, _ = loss_derivative(loss, Y, np.zeros_like(Y), 0.1)
    start = _penalised(start_value, np.zeros(1), weights, model)
    # The perceptron's criterion is lowest at w = 0: it only has to stay finite.
    if loss != "perceptron":
        assert final < start

    again = _fit_quietly(clone(model), X_fit, labels, weights)
    assert_array_equal(again.coef_, model.coef_)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X_fit), predicted)
