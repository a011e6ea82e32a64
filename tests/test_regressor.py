"""GDRegressor against exact solvers, and its fitting behaviours."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, Ridge

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd._data import InMemoryRows

EXACT = dict(batch_size="full", solver="nesterov", tol=None)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_full_batch_l2_equals_ridge(diabetes, fit_intercept, sparse):
    X, y = diabetes
    alpha = 1e-3
    ridge = Ridge(alpha=alpha * len(y), fit_intercept=fit_intercept).fit(X, y)
    X_fit = sp.csr_matrix(X) if sparse else X
    model = GDRegressor(
        alpha=alpha, fit_intercept=fit_intercept, max_iter=1500, **EXACT
    )
    model.fit(X_fit, y)
    assert_allclose(model.coef_, ridge.coef_, rtol=1e-7, atol=1e-6)
    assert_allclose(model.intercept_, np.atleast_1d(ridge.intercept_), rtol=1e-9)


def test_full_batch_l1_equals_lasso_with_exact_zeros(diabetes):
    X, y = diabetes
    lasso = Lasso(alpha=2.0, tol=1e-12, max_iter=100_000).fit(X, y)
    model = GDRegressor(penalty="l1", alpha=2.0, max_iter=3000, **EXACT).fit(X, y)
    assert np.sum(lasso.coef_ == 0) >= 3
    assert_array_equal(model.coef_ == 0.0, lasso.coef_ == 0.0)
    assert_allclose(model.coef_, lasso.coef_, atol=1e-6)


def test_l1_gives_exact_zeros_for_irrelevant_features():
    X, y = make_regression(300, 20, n_informative=4, noise=1.0, random_state=0)
    model = GDRegressor(penalty="l1", alpha=1.0, random_state=0).fit(X, y)
    assert np.sum(model.coef_ == 0.0) >= 14
    assert np.all(model.coef_[np.abs(model.coef_) > 0] != 0)


def test_elasticnet_matches_sklearn_elasticnet(diabetes):
    from sklearn.linear_model import ElasticNet

    X, y = diabetes
    reference = ElasticNet(alpha=1.0, l1_ratio=0.5, tol=1e-12, max_iter=100_000)
    reference.fit(X, y)
    model = GDRegressor(
        penalty="elasticnet", alpha=1.0, l1_ratio=0.5, max_iter=3000, **EXACT
    ).fit(X, y)
    assert_allclose(model.coef_, reference.coef_, atol=1e-6)


def test_dense_and_csr_give_the_same_coefficients():
    X, y = make_regression(200, 15, random_state=1)
    X[np.abs(X) < 0.8] = 0.0
    # A given learning rate: "auto" also conditions the data, and the two
    # mini-batch fits would then differ (sparse mini-batches are not centred).
    settings = dict(batch_size=16, random_state=3, max_iter=20, learning_rate=0.01)
    dense = GDRegressor(**settings).fit(X, y)
    sparse = GDRegressor(**settings)
    sparse.fit(sp.csr_matrix(X), y)
    assert_allclose(dense.coef_, sparse.coef_, rtol=1e-10)
    assert_allclose(dense.loss_curve_, sparse.loss_curve_, rtol=1e-10)


def test_float32_input_is_trained_and_predicted_in_float32(diabetes):
    X, y = diabetes
    settings = dict(max_iter=300, tol=None)
    model = GDRegressor(**settings).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    assert model.intercept_.dtype == np.float32
    assert model.predict(X.astype(np.float32)).dtype == np.float32
    reference = GDRegressor(**settings).fit(X, y)
    # float32 resolves the objective to about 1e-7 of its value; along the
    # nearly collinear columns of diabetes that leaves the coefficients, though
    # not the fit, visibly apart from float64's.
    assert model.loss_curve_[-1] == pytest.approx(reference.loss_curve_[-1], rel=1e-5)
    assert_allclose(
        model.predict(X.astype(np.float32)), reference.predict(X), atol=1e-2 * y.std()
    )


def test_multi_output_equals_ridge_per_target(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, -2 * y + 3, X[:, 0]])
    model = GDRegressor(alpha=1e-3, max_iter=1500, **EXACT).fit(X, Y)
    ridge = Ridge(alpha=1e-3 * len(y)).fit(X, Y)
    assert model.coef_.shape == (3, X.shape[1])
    assert model.predict(X).shape == (len(y), 3)
    assert_allclose(model.coef_, ridge.coef_, rtol=1e-6, atol=1e-6)


def test_one_column_y_keeps_two_dimensional_output(diabetes):
    X, y = diabetes
    model = GDRegressor(max_iter=5, tol=None).fit(X, y[:, None])
    assert model.coef_.shape == (1, X.shape[1])
    assert model.predict(X).shape == (len(y), 1)


def test_integer_sample_weight_equals_repeated_rows_in_full_batch(diabetes):
    X, y = diabetes
    weights = np.random.default_rng(0).integers(0, 4, len(y))
    weighted = GDRegressor(batch_size="full", max_iter=50, tol=None)
    weighted.fit(X, y, sample_weight=weights)
    repeated = GDRegressor(batch_size="full", max_iter=50, tol=None)
    repeated.fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_sample_weight_counts_in_per_sample_sgd():
    # Normalising each batch by its own weight would make weights vanish at
    # batch_size=1; here the heavy rows must dominate the fit.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 1))
    y = np.where(np.arange(400) < 200, 3 * X[:, 0], -3 * X[:, 0])
    weights = np.where(np.arange(400) < 200, 50.0, 1.0)
    model = GDRegressor(batch_size=1, alpha=0.0, schedule="invscaling", max_iter=30)
    model.set_params(random_state=0, tol=None).fit(X, y, sample_weight=weights)
    assert model.coef_[0] == pytest.approx(3 * 49 / 51, abs=0.3)


def test_partial_fit_streams_blocks_and_continues_state(diabetes):
    X, y = diabetes
    model = GDRegressor(batch_size=32, random_state=0)
    for _ in range(30):
        for block in np.array_split(np.arange(len(y)), 4):
            model.partial_fit(X[block], y[block])
    assert model.n_iter_ == 120
    assert model.t_ == 30 * sum(-(-len(b) // 32) for b in np.array_split(y, 4))
    ridge = Ridge(alpha=1e-4 * len(y)).fit(X, y)
    assert model.score(X, y) == pytest.approx(ridge.score(X, y), abs=0.01)


def test_partial_fit_rejects_a_different_number_of_features(diabetes):
    X, y = diabetes
    model = GDRegressor().partial_fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :5], y)


def test_warm_start_continues_from_the_previous_coefficients(diabetes):
    X, y = diabetes
    model = GDRegressor(warm_start=True, max_iter=3, tol=None, batch_size="full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        first_loss = model.loss_curve_[-1]
        model.fit(X, y)
    assert model.loss_curve_[0] < first_loss


def test_convergence_warning_when_max_iter_ends_a_fit_with_tol(diabetes):
    X, y = diabetes
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        GDRegressor(max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GDRegressor(max_iter=2, tol=None).fit(X, y)


def test_tol_stops_before_max_iter_and_records_curves(diabetes):
    X, y = diabetes
    model = GDRegressor(batch_size="full", random_state=0).fit(X, y)
    assert 5 < model.n_iter_ < 1000
    assert len(model.loss_curve_) == len(model.lr_curve_) == model.n_iter_
    assert model.best_loss_ == pytest.approx(min(model.loss_curve_))
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_early_stopping_keeps_the_best_validation_coefficients(diabetes):
    X, y = diabetes
    model = GDRegressor(early_stopping=True, random_state=0, batch_size=16)
    model.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_validation_score_ > 0.3


def test_divergence_raises_and_keeps_finite_coefficients(diabetes):
    X, y = diabetes
    model = GDRegressor(learning_rate=1e3, solver="sgd", momentum=0.0)
    with pytest.raises(DivergenceError, match=r"epoch \d+ .*learning_rate_=1e\+03"):
        model.fit(X * 100, y)
    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(model.predict(X)))


def test_huge_targets_do_not_overflow_with_auto_learning_rate(diabetes):
    X, y = diabetes
    model = GDRegressor(random_state=0).fit(X, y * 1e8)
    assert model.score(X, y * 1e8) > 0.45


def test_pickle_round_trip_predicts_identically(diabetes):
    X, y = diabetes
    model = GDRegressor(solver="adam", random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X), model.predict(X))
    restored.partial_fit(X, y)  # the solver state survives too


def test_random_state_makes_fits_bit_identical(diabetes):
    X, y = diabetes
    first = GDRegressor(batch_size=8, random_state=7).fit(X, y)
    second = GDRegressor(batch_size=8, random_state=7).fit(X, y)
    assert_array_equal(first.coef_, second.coef_)


def test_keyboard_interrupt_keeps_the_last_finished_epoch(diabetes):
    X, y = diabetes

    def interrupt_at_epoch_four(steps):
        if steps[0] >= 4 * 2:  # two batches of 256 rows per epoch
            raise KeyboardInterrupt
        return np.ones(len(steps))

    settings = dict(batch_size=256, tol=None, random_state=0)
    model = GDRegressor(schedule=interrupt_at_epoch_four, **settings)
    with pytest.warns(UserWarning, match="interrupted at epoch 5"):
        model.fit(X, y)
    assert model.n_iter_ == 4
    assert len(model.loss_curve_) == 4
    assert np.isfinite(model.predict(X)).all()
    reference = GDRegressor(max_iter=4, **settings).fit(X, y)
    assert_array_equal(model.coef_, reference.coef_)


def test_verbose_prints_one_line_per_epoch(diabetes, capsys):
    X, y = diabetes
    GDRegressor(verbose=1, max_iter=3, tol=None).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"-- Epoch {i}" for i in (1, 2, 3)
    ]


def test_shuffled_epochs_visit_every_row_once_in_changing_batches():
    rng = np.random.RandomState(0)
    n_rows = 1000
    X, Y, weights = np.zeros((n_rows, 2)), np.zeros((n_rows, 1)), np.ones(n_rows)
    data = InMemoryRows(X, Y, weights, 32, True, rng, incremental=False)
    rows = np.arange(n_rows, dtype=np.intp)
    first, second = data.order(rng), data.order(rng)
    assert_array_equal(np.sort(first), rows)
    assert_array_equal(np.sort(second), rows)
    batches_first = {frozenset(first[i : i + 32]) for i in range(0, n_rows, 32)}
    batches_second = {frozenset(second[i : i + 32]) for i in range(0, n_rows, 32)}
    assert len(batches_first & batches_second) < 5
    unshuffled = InMemoryRows(X, Y, weights, 32, False, rng, incremental=False)
    assert_array_equal(unshuffled.order(rng), rows)


@pytest.mark.parametrize("sparse", [False, True])
def test_threads_split_full_batch_rows_and_give_the_same_fit(sparse):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30_000, 8))
    y = X @ rng.normal(size=8) + rng.normal(size=30_000)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    model = GDRegressor(solver="nesterov", max_iter=40, tol=None, random_state=0)
    one = clone(model).fit(X, y)
    two = clone(model).set_params(n_jobs=2).fit(X, y)
    data = two._data_source(X, y[:, None], np.ones(30_000), None, incremental=False)
    assert data.n_threads == 2  # the split really happens
    # Sums in another order: the same steps up to rounding.
    assert_allclose(two.coef_, one.coef_, rtol=1e-10)
    assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-12)


def _offset_features():
    """Features in units from 1e-3 to 1e3, all far from zero: nearly the ones column."""
    X, y = make_regression(2000, 8, noise=5.0, random_state=0)
    return X * np.logspace(-3, 3, 8) + 100.0, y


@pytest.mark.parametrize("solver", ["adagrad", "rmsprop", "adam"])
def test_adaptive_solvers_converge_on_features_far_from_zero(solver):
    # Centring makes a feature far from zero stop being nearly a copy of the
    # intercept's column. Without it, each of these solvers used all 1,000
    # default epochs and ended 48% to 59% of the way from Ridge's objective
    # back to the intercept-only model's; with it, within 7e-8 in 22 to 172.
    X, y = _offset_features()
    alpha = 1e-4
    ridge = Ridge(alpha=alpha * len(y)).fit(X, y)

    def objective(coef, intercept):
        residual = y - X @ coef - intercept
        return 0.5 * np.mean(residual**2) + 0.5 * alpha * coef @ coef

    optimum = objective(ridge.coef_, ridge.intercept_)
    null = objective(np.zeros(8), y.mean())
    model = GDRegressor(solver=solver, alpha=alpha).fit(X, y)
    assert model.n_iter_ < 500
    assert objective(model.coef_, model.intercept_) - optimum < 1e-6 * (null - optimum)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [16, "full"])
def test_fit_sets_the_squared_error_intercept_in_closed_form(solver, batch_size):
    # With centred features the best intercept is mean(y) - mean(X) @ coef_,
    # weighted, whatever the coefficients; fit keeps it there to rounding.
    X, y = _offset_features()
    weights = np.random.default_rng(1).integers(0, 4, len(y)).astype(float)
    model = GDRegressor(solver=solver, batch_size=batch_size, max_iter=5, tol=None)
    model.set_params(random_state=0).fit(X, y, sample_weight=weights)
    share = weights / weights.sum()
    exact = share @ y - (share @ X) @ model.coef_
    assert model.intercept_[0] == pytest.approx(exact, rel=1e-12, abs=1e-9)
    # partial_fit centres on its first block only, so it descends on the
    # intercept: it follows targets that move by 50 in later blocks (which
    # centred features, of mean zero, cannot do).
    X, y = make_regression(2000, 8, noise=5.0, random_state=0)
    stream = GDRegressor(solver=solver, batch_size=16, random_state=0)
    stream.partial_fit(X[:1000], y[:1000])
    for _ in range(20):
        stream.partial_fit(X[1000:], y[1000:] + 50.0)
    assert np.mean(stream.predict(X[1000:]) - y[1000:]) > 40.0


def _averaging_model(**params):
    settings = dict(
        solver="sgd", batch_size=8, learning_rate=0.01, schedule="constant",
        shuffle=False, tol=None, random_state=0,
    )  # fmt: skip
    return GDRegressor(**{**settings, **params})


def test_average_lands_closer_than_the_last_iterate_at_a_constant_rate(diabetes):
    # Polyak-Ruppert: at a constant rate the iterates hover around the
    # optimum at the level of their noise; their average is far closer.
    X, y = diabetes
    exact = Ridge(alpha=1e-4 * len(y)).fit(X, y)

    def gap(model):
        residual = y - model.predict(X)
        value = 0.5 * np.mean(residual**2) + 0.5e-4 * np.sum(model.coef_**2)
        best = 0.5 * np.mean((y - exact.predict(X)) ** 2)
        return value - best - 0.5e-4 * np.sum(exact.coef_**2)

    settings = dict(batch_size=1, learning_rate=0.005, max_iter=30, shuffle=True)
    plain = _averaging_model(**settings).fit(X, y)
    averaged = _averaging_model(average=True, **settings).fit(X, y)
    assert gap(averaged) < gap(plain) / 10


def test_partial_fit_with_average_continues_the_iterate_and_the_average(diabetes):
    X, y = diabetes
    fitted = _averaging_model(average=True, max_iter=3).fit(X, y)
    streamed = _averaging_model(average=True)
    for _ in range(3):
        streamed.partial_fit(X, y)
    assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-10)
    assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-10)


def test_average_given_as_rows_starts_once_that_many_rows_are_seen(diabetes):
    X, y = diabetes
    plain = _averaging_model(max_iter=1).fit(X, y)
    # Averaging starts after two epochs' rows: one epoch is the plain iterate.
    late = _averaging_model(average=2 * len(y), max_iter=1).fit(X, y)
    assert_allclose(late.coef_, plain.coef_, rtol=1e-12)
    later = _averaging_model(average=2 * len(y), max_iter=3).fit(X, y)
    three = _averaging_model(max_iter=3).fit(X, y)
    assert not np.allclose(later.coef_, three.coef_, rtol=1e-6)


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_full_batch_fits_condition_csr_rows_as_dense_ones(estimator):
    # learning_rate="auto" centres and scales the features of a full-batch
    # fit. On CSR rows the centre enters every pass through the intercepts
    # (the rows stay sparse), so both fits take the same steps. Without it
    # the sparse fit took 233 epochs on 20,000 text-like rows, the dense 13.
    rng = np.random.default_rng(0)
    X = sp.random(300, 40, density=0.2, random_state=0, format="csr")
    X.data = rng.uniform(0.5, 2.0, X.nnz)  # all positive: far from centred
    weights = rng.uniform(0.5, 2.0, 300)
    signal = X @ rng.normal(size=(40, 3))
    if estimator is GDRegressor:
        y = signal[:, 0] + 0.1 * rng.normal(size=300)
    else:  # three classes: softmax, three intercepts
        y = np.argmax(signal + rng.gumbel(size=(300, 3)), axis=1)
    dense = estimator(random_state=0).fit(X.toarray(), y, sample_weight=weights)
    sparse = estimator(random_state=0).fit(X, y, sample_weight=weights)
    # The same steps (to rounding, which may later tip a restart the other
    # way), both certified within tol, in few epochs.
    assert_allclose(sparse.loss_curve_[:10], dense.loss_curve_[:10], rtol=1e-9)
    assert sparse.n_iter_ < 100 and dense.n_iter_ < 100
    assert sparse.gap_estimate_ <= sparse.tol and dense.gap_estimate_ <= dense.tol
    if estimator is GDRegressor:
        assert sparse.n_iter_ == dense.n_iter_
        assert_allclose(sparse.coef_, dense.coef_, rtol=1e-7, atol=1e-9)
        assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-7, atol=1e-9)
    else:
        assert_allclose(
            sparse.predict_proba(X), dense.predict_proba(X.toarray()), atol=5e-3
        )


def test_a_stream_goes_on_from_a_centred_csr_fit():
    # The fit's coefficients are centred; the stream's sparse blocks are not:
    # the first call re-expresses them, so predictions barely move.
    rng = np.random.default_rng(1)
    X = sp.random(400, 30, density=0.2, random_state=1, format="csr")
    X.data = rng.uniform(0.5, 2.0, X.nnz)
    y = X @ rng.normal(size=30) + 0.1 * rng.normal(size=400)
    model = GDRegressor(random_state=0).fit(X, y)
    before = model.predict(X)
    model.partial_fit(X, y)
    assert_allclose(model.predict(X), before, atol=0.05 * np.std(y))
