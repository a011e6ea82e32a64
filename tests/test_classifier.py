"""GDClassifier against LogisticRegression, and its classification behaviours."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import softmax
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils import compute_class_weight

from sklearn_gd import GDClassifier

EXACT = dict(batch_size="full", solver="nesterov", tol=None)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_binary_log_loss_equals_logistic_regression(cancer, sparse):
    X, y = cancer
    alpha = 1e-2
    reference = LogisticRegression(
        C=1 / (alpha * len(y)), solver="newton-cholesky", tol=1e-14, max_iter=1000
    )
    reference.fit(X, y)
    X_fit = sp.csr_matrix(X) if sparse else X
    model = GDClassifier(alpha=alpha, max_iter=5000, **EXACT).fit(X_fit, y)
    assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(model.intercept_, reference.intercept_, rtol=1e-10)
    assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-12)


def test_multiclass_log_loss_equals_multinomial_logistic_regression(iris):
    X, y = iris
    alpha = 1e-3
    reference = LogisticRegression(
        C=1 / (alpha * len(y)), solver="newton-cholesky", tol=1e-14, max_iter=1000
    )
    reference.fit(X, y)
    model = GDClassifier(alpha=alpha, max_iter=10_000, **EXACT).fit(X, y)
    assert model.coef_.shape == (3, 4)
    # The softmax is invariant to a common shift of the intercepts.
    assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-11)
    assert_allclose(
        model.intercept_ - model.intercept_.mean(),
        reference.intercept_ - reference.intercept_.mean(),
        atol=1e-10,
    )
    assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-11)
    assert_allclose(model.predict_proba(X), softmax(model.decision_function(X), axis=1))


def test_margin_losses_are_one_vs_rest(iris):
    X, y = iris
    # Without momentum (whose restarts look at the joint loss) the joint fit
    # takes exactly the steps of three binary fits.
    settings = dict(
        loss="hinge",
        solver="sgd",
        batch_size="full",
        momentum=0.0,
        max_iter=50,
        tol=None,
    )
    joint = GDClassifier(**settings).fit(X, y)
    for k in range(3):
        binary = GDClassifier(**settings).fit(X, np.where(y == k, 1, 0))
        assert_allclose(joint.coef_[k], binary.coef_[0], rtol=1e-10)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "perceptron"])
def test_predict_proba_is_absent_for_losses_without_probabilities(cancer, loss):
    X, y = cancer
    model = GDClassifier(loss=loss, max_iter=5, tol=None).fit(X, y)
    assert not hasattr(model, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        model.predict_proba(X)


def test_modified_huber_probabilities_follow_sgdclassifier_formula(iris):
    X, y = iris
    model = GDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    scores = model.decision_function(X)
    expected = (np.clip(scores, -1, 1) + 1) / 2
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(model.predict_proba(X), expected)
    assert_allclose(np.exp(model.predict_log_proba(X)), model.predict_proba(X))


def test_string_labels_round_trip(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = GDClassifier(random_state=0).fit(X, names)
    assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert set(model.predict(X)) <= set(names)
    assert model.score(X, names) > 0.9


def test_balanced_class_weight_equals_explicit_weights():
    X, y = make_classification(200, 5, weights=[0.8], random_state=0)
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    balanced = GDClassifier(class_weight="balanced", batch_size="full", max_iter=100)
    balanced.set_params(tol=None).fit(X, y)
    explicit = GDClassifier(batch_size="full", max_iter=100, tol=None)
    explicit.fit(X, y, sample_weight=weights[y])
    assert_allclose(balanced.coef_, explicit.coef_, rtol=1e-12)


def test_class_weight_equals_logistic_regression_with_class_weight():
    X, y = make_classification(400, 4, flip_y=0.2, random_state=1)
    class_weight = {0: 10.0, 1: 1.0}
    alpha = 1e-2
    # Both weigh each row's loss by its class; ours divides by the total weight.
    total = sum(class_weight[label] for label in y)
    reference = LogisticRegression(
        C=1 / (alpha * total), class_weight=class_weight, solver="newton-cholesky",
        tol=1e-14,
    ).fit(X, y)  # fmt: skip
    model = GDClassifier(class_weight=class_weight, alpha=alpha, max_iter=3000, **EXACT)
    model.fit(X, y)
    assert_allclose(model.coef_, reference.coef_, rtol=1e-8)
    plain = GDClassifier(alpha=alpha, random_state=0).fit(X, y)
    assert np.mean(model.predict(X) == 0) > np.mean(plain.predict(X) == 0) + 0.1


def test_partial_fit_needs_classes_first_and_rejects_unseen_labels(iris):
    X, y = iris
    model = GDClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        model.partial_fit(X[:2], [0, 7])


def test_partial_fit_streaming_reaches_the_accuracy_of_fit(iris):
    X, y = iris
    rng = np.random.default_rng(0)
    model = GDClassifier(batch_size=16, random_state=0)
    for _ in range(40):
        order = rng.permutation(len(y))
        for block in np.array_split(order, 5):
            model.partial_fit(X[block], y[block], classes=[0, 1, 2])
    fitted = GDClassifier(batch_size=16, random_state=0).fit(X, y)
    assert model.score(X, y) >= fitted.score(X, y) - 0.03


def test_single_class_is_rejected_with_a_clear_error(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least two classes"):
        GDClassifier().fit(X, np.zeros(len(X)))


def test_float32_is_preserved(cancer):
    X, y = cancer
    model = GDClassifier(random_state=0).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    assert model.decision_function(X.astype(np.float32)).dtype == np.float32


def test_early_stopping_uses_stratified_validation(cancer):
    X, y = cancer
    model = GDClassifier(early_stopping=True, random_state=0, batch_size=32).fit(X, y)
    assert model.best_validation_score_ > 0.9
    assert len(model.validation_scores_) == model.n_iter_


def _overshooting_fit(solver, max_iter):
    """Return ``(X, y, model, rises)``: a full-batch fit whose objective rises."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 30))
    y = (X @ rng.normal(size=30) / 5 + rng.logistic(size=2000) > 0).astype(int)
    model = GDClassifier(solver=solver, tol=None, max_iter=max_iter).fit(X, y)
    curve = np.array(model.loss_curve_)
    rises = [
        k for k in range(1, max_iter - 1) if curve[k] > curve[:k].min() * (1 + 1e-12)
    ]
    assert rises, f"this problem is chosen to make {solver} overshoot"
    return X, y, model, rises


def test_full_batch_momentum_steps_back_after_an_overshoot():
    X, y, model, rises = _overshooting_fit("sgd", 40)
    curve = np.array(model.loss_curve_)
    for k in rises:
        # The next epoch starts again from the best point seen so far.
        assert curve[k + 1] == curve[: k + 1].min()
    reference = LogisticRegression(
        C=1 / (1e-4 * len(y)), solver="newton-cholesky", tol=1e-12
    ).fit(X, y)
    best = np.mean(
        np.logaddexp(0, -np.where(y == 1, 1, -1) * reference.decision_function(X))
    )
    best += 0.5e-4 * np.sum(reference.coef_**2)
    assert curve[-1] == pytest.approx(best, rel=1e-6)


def test_full_batch_adam_restarts_both_moments_and_their_bias_corrections(
    monkeypatch,
):
    from sklearn_gd import _data

    calls = []
    original = _data.InMemoryRows.full_batch_epoch

    def spy(self, kernel, rates, params, state, t):
        calls.append((t, state.copy()))
        return original(self, kernel, rates, params, state, t)

    monkeypatch.setattr(_data.InMemoryRows, "full_batch_epoch", spy)
    _, _, _, rises = _overshooting_fit("adam", 60)
    for k in rises:
        # The epoch after a rise is a fresh Adam from the best point: zero
        # moments and an update count of 0 for the bias corrections (with the
        # count kept, the corrected first moment was ~0.1 g).
        t, state = calls[k + 1]
        assert t == 0
        assert not state.any()
    # and the count goes on from there.
    assert calls[rises[0] + 2][0] == 1


def test_early_stopping_returns_the_best_validation_epoch(monkeypatch):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    per_epoch = []
    original = GDClassifier._validation_score

    def recording(self, *validation):
        per_epoch.append(self.coef_.copy())
        return original(self, *validation)

    monkeypatch.setattr(GDClassifier, "_validation_score", recording)
    model = GDClassifier(
        early_stopping=True, validation_fraction=0.2, random_state=0
    ).fit(X, y)
    scores = np.array(model.validation_scores_)
    assert len(per_epoch) == len(scores) == model.n_iter_
    best = np.flatnonzero(scores == scores.max())[-1]  # the latest of equals
    assert best < model.n_iter_ - 1  # so that keeping the last epoch would fail
    assert_allclose(model.coef_, per_epoch[best], rtol=0, atol=0)
    assert model.best_validation_score_ == scores[best]
