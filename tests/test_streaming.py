"""partial_fit as a stream: what a block may and may not decide (sklearn_gd._streaming).

The matrix below streams unrepresentative first blocks, tiny blocks,
weighted blocks and a continuation of ``fit``; every case must end with a
sensible model (judged by the relative objective gap to the exact solver of
the same objective) or a clear error. The last tests port the intent of
scikit-learn's own partial_fit tests (``linear_model/tests/test_sgd.py``).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd._data import InMemoryRows
from sklearn_gd._stream_state import Stream, recentre, recentre_gradient
from tests.convergence_problems import Problem, exact_optimum, objective


def _regression(n=3000, d=5, seed=0):
    X, y = make_regression(n_samples=n, n_features=d, noise=20.0, random_state=seed)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


def _classification(n=3000, d=8, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=4, flip_y=0.05, random_state=seed
    )
    return StandardScaler().fit_transform(X), y


def _blocks(n, size):
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]


def _stream(model, X, y, blocks, passes, **kwargs):
    for _ in range(passes):
        for block in blocks:
            extra = {
                key: value[block] if key == "sample_weight" else value
                for key, value in kwargs.items()
            }
            model.partial_fit(X[block], y[block], **extra)
    return model


def _gap(X, y, model, loss="squared_error"):
    problem = Problem("stream", X, y, loss)
    optimum = exact_optimum(problem)
    return (objective(problem, model.coef_, model.intercept_) - optimum) / optimum


# -- the streaming matrix ---------------------------------------------------------


def test_a_first_block_with_a_nearly_constant_feature_does_not_doom_the_stream():
    # The first block fixed a scale of 1e4 on the feature for the whole
    # stream, and later blocks where it varies diverged without a word
    # (R^2 = -7.5e31 on the stream this was found on).
    X, y = _regression()
    X[:100, 0] = 3.0 + 1e-6 * np.random.default_rng(0).normal(size=100)
    model = _stream(GDRegressor(random_state=0), X, y, _blocks(len(y), 100), 10)
    assert np.isfinite(model.coef_).all()
    ridge = Ridge(alpha=1e-4 * len(y)).fit(X, y)
    assert model.score(X, y) > ridge.score(X, y) - 0.01
    assert _gap(X, y, model) < 5e-2


def test_a_first_block_with_a_shifted_feature_ends_with_a_sensible_model():
    X, y = _regression()
    X[:100, 1] += 50.0
    model = _stream(GDRegressor(random_state=0), X, y, _blocks(len(y), 100), 10)
    assert np.isfinite(model.coef_).all()
    assert model.score(X, y) > 0.5
    assert _gap(X, y, model) < 1.0


def test_a_first_block_of_one_class_starts_from_a_shrunk_intercept():
    X, y = _classification()
    order = np.argsort(y, kind="stable")
    order = np.concatenate(
        [order[:100], np.random.default_rng(0).permutation(order[100:])]
    )
    X, y = X[order], y[order]
    model = GDClassifier(random_state=0).partial_fit(X[:100], y[:100], classes=[0, 1])
    # Laplace's rule on 100 rows of class 0: log(1 / 101), not log(1e-12).
    assert model.intercept_[0] == pytest.approx(np.log(1 / 101), abs=1.0)
    _stream(model, X, y, _blocks(len(y), 100), 10, classes=[0, 1])
    assert _gap(X, y, model, "log_loss") < 1e-2


@pytest.mark.parametrize("size", [1, 7, 100])
def test_tiny_blocks_end_near_the_optimum(size):
    X, y = _regression(n=1000)
    model = _stream(GDRegressor(random_state=0), X, y, _blocks(len(y), size), 6)
    assert model.n_iter_ == 6 * len(_blocks(len(y), size))
    assert _gap(X, y, model) < 1e-2


def test_blocks_under_256_rows_are_mini_batches_of_the_stream_not_full_batches():
    X, y = _regression(n=2000, d=20)
    model = _stream(GDRegressor(random_state=0), X, y, _blocks(len(y), 100), 1)
    # The old rule took the full-batch step of each 100-row block with a
    # constant schedule: a gap of 2.2 after 30 passes.
    assert model._stream.batch_size < 100
    assert model.solver_ == "sgd"
    assert model.learning_rate_ < 1.0 / model._stream.l_full
    _stream(model, X, y, _blocks(len(y), 100), 29)
    assert model._rules.rate_factor < 1.0  # the plateaus divided the rate
    assert _gap(X, y, model) < 1e-3


def test_classification_stream_ends_within_one_percent_of_the_optimum():
    X, y = _classification()
    model = _stream(
        GDClassifier(random_state=0), X, y, _blocks(len(y), 100), 20, classes=[0, 1]
    )
    assert _gap(X, y, model, "log_loss") < 1e-2


def test_weighted_blocks_pull_in_proportion_to_their_weights():
    # Two populations with different slopes in alternate blocks; the blocks
    # of the second weigh 10. Normalised per block, as before, the stream
    # would settle at the unweighted optimum.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    second = np.repeat(np.arange(20) % 2 == 1, 100)
    slopes = np.where(second[:, None], [3.0, -1.0, 0.5], [1.0, 1.0, 1.0])
    y = np.sum(X * slopes, axis=1) + 0.1 * rng.normal(size=2000)
    weights = np.where(second, 10.0, 1.0)
    model = _stream(
        GDRegressor(random_state=0), X, y, _blocks(2000, 100), 20, sample_weight=weights
    )
    weighted = Ridge(alpha=1e-4 * weights.sum()).fit(X, y, sample_weight=weights)
    plain = Ridge(alpha=1e-4 * 2000).fit(X, y)
    assert_allclose(model.coef_, weighted.coef_, atol=0.05)
    assert np.abs(model.coef_ - plain.coef_).max() > 0.5


def test_scaling_every_weight_of_a_stream_changes_nothing():
    X, y = _regression(n=600)
    blocks = _blocks(600, 50)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=600)
    one = _stream(GDRegressor(random_state=0), X, y, blocks, 3, sample_weight=weights)
    seven = _stream(
        GDRegressor(random_state=0), X, y, blocks, 3, sample_weight=7 * weights
    )
    assert_allclose(seven.coef_, one.coef_, rtol=1e-9)


def test_partial_fit_after_fit_stays_at_the_fitted_optimum():
    # It kept fit's full-batch rate and velocity: the Ridge optimum 14.449
    # rose to 15.96 after one call.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor().fit(X, y)
    assert model.gap_estimate_ <= model.tol
    problem = Problem("diabetes", X, y, "squared_error")
    fitted = objective(problem, model.coef_, model.intercept_)
    for _ in range(10):
        model.partial_fit(X, y)
        value = objective(problem, model.coef_, model.intercept_)
        assert value <= fitted * (1 + model.tol)
    assert model.solver_ == "sgd"


@pytest.mark.parametrize("fit_rows", [100, 1000])
def test_partial_fit_after_fit_on_other_data_learns_the_new_data(fit_rows):
    # Settled at the fit's optimum, the stream would not move: a block the
    # fit does not fit starts the full rate, and a running loss above the
    # fit's objective restores it.
    X, y = _regression(n=2000)
    model = GDRegressor().fit(X[:fit_rows], y[:fit_rows])
    new_X, new_y = X[1000:], y[1000:] + 1.0
    _stream(model, new_X, new_y, _blocks(1000, 100), 10)
    assert _gap(new_X, new_y, model) < 1e-2


@pytest.mark.parametrize("solver", ["adam", "rmsprop", "adagrad", "nesterov"])
def test_every_solver_stays_at_a_converged_fit(solver):
    X, y = _regression(n=1000)
    model = GDRegressor(solver=solver, random_state=0).fit(X, y)
    fitted = _gap(X, y, model)
    _stream(model, X, y, _blocks(1000, 100), 3)
    assert _gap(X, y, model) <= fitted + model.tol


def test_a_refused_block_leaves_the_stream_as_it_was():
    X, y = _regression(n=300)
    model = GDRegressor().partial_fit(X[:100], y[:100])
    counted = (model._stream.weight_sum, model._stream.mean.copy())
    with pytest.raises(ValueError, match="saga"):
        model.set_params(solver="saga").partial_fit(X[100:200], y[100:200])
    assert model._stream.weight_sum == counted[0]
    assert_allclose(model._stream.mean, counted[1])


def test_a_stream_of_dask_blocks_trains_where_it_trains_in_memory():
    da = pytest.importorskip("dask.array")
    X, y = _regression(n=600)
    in_memory = _stream(GDRegressor(random_state=0), X, y, _blocks(600, 200), 3)
    chunked = GDRegressor(random_state=0)
    for _ in range(3):
        for block in _blocks(600, 200):
            chunked.partial_fit(
                da.from_array(X[block], chunks=100), da.from_array(y[block], chunks=100)
            )
    assert np.isfinite(chunked.coef_).all()
    assert_allclose(chunked._stream.mean, in_memory._stream.mean, atol=1e-12)
    assert _gap(X, y, chunked) < 0.1


def test_a_stream_that_diverges_raises_and_keeps_its_best_coefficients():
    # A fixed rate far too long for per-sample steps grows the coefficients
    # block after block; each call alone looks only a few times worse.
    X, y = _regression(n=2000)
    model = GDRegressor(learning_rate=0.5, batch_size=1, random_state=0)
    with pytest.raises(DivergenceError, match="lowest running loss"):
        _stream(model, X, y, _blocks(2000, 20), 50)
    assert np.isfinite(model.coef_).all()
    assert np.abs(model.coef_).max() < 1e3


def test_early_stopping_is_refused_by_partial_fit():
    X, y = _classification(n=200)
    with pytest.raises(ValueError, match="early_stopping"):
        GDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="early_stopping"):
        GDRegressor(early_stopping=True).partial_fit(X, y.astype(float))


@pytest.mark.parametrize("learning_rate", ["auto", 0.01])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overflow_sized_features_are_refused_with_advice(learning_rate, method, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, :2] *= 1e300 if dtype == np.float64 else 1e30
    X = X.astype(dtype)
    model = GDRegressor(learning_rate=learning_rate)
    with pytest.raises(ValueError, match="Scale the features"):
        getattr(model, method)(X, rng.normal(size=40))


def test_overflow_sized_targets_are_refused_with_advice():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="Scale the targets"):
        GDRegressor().fit(rng.normal(size=(40, 3)), 1e300 * rng.normal(size=40))


def test_a_dense_stream_refuses_a_sparse_block():
    import scipy.sparse as sp

    X, y = _regression(n=200)
    model = GDRegressor().partial_fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="dense"):
        model.partial_fit(sp.csr_matrix(X[100:]), y[100:])


# -- the stream's statistics against numpy ----------------------------------------


def test_running_moments_equal_those_of_all_blocks_so_far():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0.0, 5.0, -2.0], scale=[1.0, 3.0, 0.1], size=(300, 3))
    weights = rng.uniform(0.1, 3.0, size=300)
    stream = Stream(3, conditioned=True, centred=True, l2=0.0)
    for block in np.array_split(np.arange(300), 7):
        unit = stream.add_weights(weights[block])
        rows = InMemoryRows(
            X[block], np.zeros((len(block), 1)), weights[block], 8, False, None,
            True, weight_unit=unit,
        )  # fmt: skip
        center, _ = stream.add_moments(rows, unit)
    mean = np.average(X, axis=0, weights=weights)
    variance = np.average((X - mean) ** 2, axis=0, weights=weights)
    assert_allclose(center, mean, rtol=1e-12)
    assert_allclose(stream.spread / stream.weight_sum, variance, rtol=1e-10)
    # The diagonal covers the stream's variance (it only grows).
    assert np.all(stream.diagonal >= variance * (1 - 1e-12))


def test_recentring_keeps_the_model_and_transforms_gradients_dually():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    w, b = rng.normal(size=3), 0.7
    old, new = rng.normal(size=3), rng.normal(size=3)
    params = np.append(w, b + old @ w)  # centred intercept for ``old``
    moved = params.copy()
    recentre(moved, old, new, 1)
    assert_allclose((X - new) @ moved[:3] + moved[3], (X - old) @ w + params[3])

    def gradient(p, center):
        residual = (X - center) @ p[:3] + p[3] - y
        return np.append((X - center).T @ residual, residual.sum())

    buffer = gradient(params, old)
    recentre_gradient(buffer, old, new, 1)
    assert_allclose(buffer, gradient(moved, new), rtol=1e-10)


# -- scikit-learn's partial_fit tests, in intent ----------------------------------


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_fit_equals_partial_fit_where_the_steps_are_the_same(momentum):
    # With a fixed rate, constant schedule and no shuffling, fit's epochs and
    # partial_fit's calls on the same rows take the same steps. (The hinge
    # loss starts both at a zero intercept; with the logistic loss a stream
    # shrinks its first block's log-odds.)
    X, y = _classification(n=300)
    settings = dict(
        loss="hinge", solver="sgd", batch_size=16, learning_rate=0.01,
        schedule="constant", momentum=momentum, shuffle=False, tol=None, random_state=0,
    )  # fmt: skip
    fitted = GDClassifier(max_iter=3, **settings).fit(X, y)
    streamed = GDClassifier(**settings)
    for _ in range(3):
        streamed.partial_fit(X, y, classes=[0, 1])
    assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-12)
    assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-12)
    assert streamed.t_ == fitted.t_


def test_binary_partial_fit_in_thirds():
    X, y = _classification(n=600)
    model = GDClassifier(random_state=0)
    model.partial_fit(X[:200], y[:200], classes=np.unique(y))
    assert model.coef_.shape == (1, X.shape[1])
    assert model.intercept_.shape == (1,)
    assert model.decision_function(X[:5]).shape == (5,)
    first = model.score(X, y)
    model.partial_fit(X[200:], y[200:])
    assert model.score(X, y) > max(first, 0.65)


def test_multiclass_partial_fit_in_thirds():
    X, y = make_classification(
        n_samples=600, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    model = GDClassifier(random_state=0)
    model.partial_fit(X[:200], y[:200], classes=np.unique(y))
    assert model.coef_.shape == (3, 6)
    assert model.intercept_.shape == (3,)
    assert model.decision_function(X[:5]).shape == (5, 3)
    model.partial_fit(X[200:], y[200:])
    assert model.score(X, y) > 0.6


def test_classes_given_later_must_match_the_first_ones():
    X, y = _classification(n=100)
    model = GDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_fit_after_a_stream_starts_afresh():
    X, y = _regression(n=500)
    model = _stream(GDRegressor(random_state=0), X, y, _blocks(500, 50), 2)
    model.fit(X, y)
    assert model._stream is None
    assert model.solver_ == "accelerated"
    model.partial_fit(X[:50], y[:50])
    assert model.n_iter_ == len(model.loss_curve_)


def _sparse_blocks(seed=0):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(600, 400, density=0.05, random_state=seed, format="csr")
    y = (X @ rng.normal(size=400) > 0).astype(int)
    return X, y


def test_a_stream_that_turns_adaptive_grows_its_state():
    # Heavy ball keeps one row of state; a stream switched to Adam mid-way
    # needs its second moments, which start at zero.
    X, y = _sparse_blocks()
    model = GDClassifier(solver="sgd", batch_size=8, random_state=0)
    model.partial_fit(X[:300], y[:300], classes=[0, 1])
    assert model._solver_state.shape[0] == 1
    model.set_params(solver="adam")
    updates_before = model.t_
    model.partial_fit(X[300:], y[300:])
    assert model._solver_state.shape[0] == 2
    assert model._solver_state[1].any()  # Adam kept second moments
    # Its bias corrections count from the switch, as for a fresh Adam.
    assert model._rules.moment_origin == updates_before
    assert model.loss_curve_[-1] < 0.7
    assert model.score(X, y) > 0.7


@pytest.mark.parametrize("stream_solver", ["sgd", "auto"])
def test_a_stream_after_an_adaptive_fit_keeps_the_state_it_needs(stream_solver):
    # Adam's fit keeps second moments; a heavy-ball stream after it keeps a
    # velocity only.
    X, y = _classification(n=200)
    model = GDClassifier(solver="adam", max_iter=5, tol=None, random_state=0)
    model.fit(X, y)
    model.set_params(solver=stream_solver)
    model.partial_fit(X, y)
    assert model._solver_state.shape == (1, X.shape[1] + 1)
    assert np.isfinite(model.coef_).all()


def test_a_pickled_stream_leaves_its_workspace_behind():
    # The just-in-time kernels' counts are kept between sparse calls, not in
    # a pickle; a stream read back from one continues exactly as the original.
    import pickle

    X, y = _sparse_blocks()
    model = GDClassifier(batch_size=4, random_state=0)
    model.partial_fit(X[:300], y[:300], classes=[0, 1])
    assert model._stream.workspace is not None
    copy = pickle.loads(pickle.dumps(model))
    assert copy._stream.workspace is None
    model.partial_fit(X[300:], y[300:])
    copy.partial_fit(X[300:], y[300:])
    assert_allclose(copy.coef_, model.coef_, rtol=1e-12)


def test_a_sparse_stream_that_diverges_keeps_its_best_coefficients():
    # Sparse blocks are not centred (an empty centre); going back to the
    # best coefficients after a divergence must not mistake that for zeros.
    X, y = _sparse_blocks()
    model = GDClassifier(batch_size=8, random_state=0)
    for _ in range(4):
        model.partial_fit(X[:300], y[:300], classes=[0, 1])
    best = model._stream.best_params[0].copy()
    model.set_params(learning_rate=1e6)
    with pytest.raises(DivergenceError, match="lowest running loss"):
        model.partial_fit(X[300:], y[300:])
    assert_allclose(model.coef_.ravel(), best[:-1], rtol=1e-12)
    assert_allclose(model.intercept_, best[-1:], rtol=1e-12)
