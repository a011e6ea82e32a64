"""scikit-learn's estimator checks, on the defaults and on other training set-ups."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gd import Cosine, Exponential, GDClassifier, GDRegressor, WarmRestarts

DETERMINISTIC_VARIANTS = [
    GDRegressor(),
    GDClassifier(),
    GDRegressor(solver="adam", batch_size="full", schedule="cosine"),
    GDClassifier(solver="nesterov", batch_size="full", schedule=Cosine(period=50)),
    GDClassifier(loss="hinge", solver="rmsprop", batch_size="full", penalty="l1"),
    GDRegressor(loss="huber", solver="adagrad", schedule=WarmRestarts(period=5)),
    GDClassifier(
        loss="squared_hinge", penalty="elasticnet", schedule=Exponential(gamma=0.99)
    ),
    GDRegressor(average=True),
]

# Mini-batches sampled in a shuffled order match integer weights only in
# expectation, which is why scikit-learn lists these same two checks as
# expected failures of its own SGDRegressor and SGDClassifier.
MINI_BATCH_REASON = (
    "mini-batches drawn in a random order match repeated rows only in expectation"
)
MINI_BATCH_VARIANTS = [
    GDRegressor(batch_size=4, solver="sgd", random_state=0),
    GDClassifier(batch_size=8, average=10, random_state=0),
    GDRegressor(batch_size=8, random_state=0),  # SAGA
    GDClassifier(batch_size=1, solver="adam", schedule="invscaling", random_state=0),
]


def _expected_failures(estimator):
    if estimator in MINI_BATCH_VARIANTS:
        return {
            "check_sample_weight_equivalence_on_dense_data": MINI_BATCH_REASON,
            "check_sample_weight_equivalence_on_sparse_data": MINI_BATCH_REASON,
        }
    return {}


@parametrize_with_checks(
    DETERMINISTIC_VARIANTS + MINI_BATCH_VARIANTS,
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [GDRegressor(), GDClassifier()])
def test_defaults_pass_check_estimator_without_expected_failures(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(estimator)
