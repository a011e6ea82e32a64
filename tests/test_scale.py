"""Scale-out and persistence: dask-ml's Incremental, a LocalCluster, memmaps, skops."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import Ridge

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor
from sklearn_gd._dask_rows import DaskRows

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def blocks():
    X, y = make_classification(6000, 10, random_state=0)
    return X, y, da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)


def test_incremental_streams_blocks_through_partial_fit(blocks):
    from dask_ml.wrappers import Incremental

    X, y, X_dask, y_dask = blocks
    estimator = GDClassifier(batch_size=64, random_state=0)
    incremental = Incremental(estimator, shuffle_blocks=False)
    incremental.fit(X_dask, y_dask, classes=[0, 1])
    # The same blocks through partial_fit in memory, in the same order.
    in_memory = GDClassifier(batch_size=64, random_state=0)
    for start in range(0, len(y), 1000):
        in_memory.partial_fit(X[start : start + 1000], y[start : start + 1000], [0, 1])
    assert_allclose(incremental.estimator_.coef_, in_memory.coef_, rtol=1e-12)
    assert incremental.score(X_dask, y_dask) == pytest.approx(in_memory.score(X, y))
    assert incremental.score(X_dask, y_dask) > 0.8


def test_incremental_on_a_dask_dataframe(blocks):
    dd = pytest.importorskip("dask.dataframe")
    from dask_ml.wrappers import Incremental

    X, y, _, _ = blocks
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]), 6)
    target = dd.from_pandas(pd.Series(y), 6)
    incremental = Incremental(GDClassifier(random_state=0)).fit(
        frame, target, classes=[0, 1]
    )
    assert incremental.predict(frame).compute().shape == (len(y),)


def test_fit_and_predict_on_a_local_cluster(blocks):
    distributed = pytest.importorskip("distributed")
    from dask_ml.wrappers import Incremental

    X, y, X_dask, y_dask = blocks
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        incremental = Incremental(GDClassifier(random_state=0), shuffle_blocks=False)
        incremental.fit(X_dask, y_dask, classes=[0, 1])
        streamed = incremental.predict(X_dask).compute()
        # Native fits: the workers sum their chunks' gradients (full batch) or
        # send their chunks one at a time (mini-batches).
        native = GDClassifier(random_state=0).fit(X_dask, y_dask)
        native_predicted = native.predict(X_dask).compute()
        mini_batch = GDClassifier(batch_size=64, random_state=0).fit(X_dask, y_dask)
    assert streamed.shape == (X_dask.shape[0],)
    assert np.mean(streamed == y) > 0.8
    in_memory = GDClassifier(random_state=0).fit(X, y)
    assert_allclose(native.coef_, in_memory.coef_, rtol=1e-6)
    assert_array_equal(native_predicted, in_memory.predict(X))
    assert mini_batch.score(X, y) == pytest.approx(in_memory.score(X, y), abs=0.02)


def test_read_only_memmap_gives_the_in_memory_fit(tmp_path):
    X, y = make_classification(500, 8, random_state=1)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    from_disk = GDClassifier(random_state=0).fit(mapped, y)
    from_memory = GDClassifier(random_state=0).fit(X, y)
    # The same steps; the gradient is summed chunk by chunk from disk.
    assert from_disk.n_iter_ == from_memory.n_iter_
    assert_allclose(from_disk.coef_, from_memory.coef_, rtol=1e-12)


def test_memmap_chunks_sum_on_threads(tmp_path, monkeypatch):
    from sklearn_gd import _data

    monkeypatch.setattr(_data, "STREAM_BYTES", 8 * 8 * 100)  # 100-row chunks
    X, y = make_classification(1000, 8, random_state=2)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    model = GDClassifier(random_state=0, max_iter=50, tol=None)
    threaded = clone(model).set_params(n_jobs=2).fit(mapped, y)
    assert_allclose(threaded.coef_, clone(model).fit(X, y).coef_, rtol=1e-10)


@pytest.mark.parametrize("estimator", [GDRegressor(solver="adam"), GDClassifier()])
def test_pickle_and_skops_round_trips_predict_identically(estimator, blocks):
    skops_io = pytest.importorskip("skops.io")
    X, y, _, _ = blocks
    model = estimator.set_params(random_state=0).fit(X, y)
    expected = model.predict(X)
    assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), expected)
    data = skops_io.dumps(model)
    untrusted = skops_io.get_untrusted_types(data=data)
    # Only our own classes need the user's trust.
    assert all(name.startswith("sklearn_gd.") for name in untrusted)
    restored = skops_io.loads(data, trusted=untrusted)
    assert_array_equal(restored.predict(X), expected)


# -- native dask fit ----------------------------------------------------------------


def _regression(n_samples=2000, random_state=0):
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n_samples, 6)) * [1, 2, 3, 0.5, 1, 10] + 3.0
    y = X @ rng.normal(size=6) + rng.normal(size=n_samples)
    return X, y


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "adam"},
        {"solver": "nesterov", "penalty": "elasticnet", "alpha": 0.01},
        {"solver": "rmsprop", "fit_intercept": False},
    ],
)
def test_dask_full_batch_gives_the_in_memory_coefficients(params):
    X, y = _regression()
    weights = np.random.default_rng(1).integers(0, 3, size=y.shape[0]).astype(float)
    chunks = (300, 700, 500, 500)  # uneven, as real data comes
    model = GDRegressor(random_state=0, tol=1e-9, max_iter=200, **params)
    in_memory = clone(model).fit(X, y, sample_weight=weights)
    native = clone(model).fit(
        da.from_array(X, chunks=(chunks, 6)), y, sample_weight=weights
    )
    assert native.n_iter_ == in_memory.n_iter_
    # Full batch keeps the chunks: each sums its own gradient.
    chunked = DaskRows(
        da.from_array(X, chunks=(chunks, 6)), y[:, None], weights, len(y), True
    )
    assert chunked.full_batch and chunked.n_chunks == 4
    assert native.learning_rate_ == pytest.approx(in_memory.learning_rate_, rel=1e-12)
    assert_allclose(native.coef_, in_memory.coef_, rtol=1e-6)
    assert_allclose(native.intercept_, in_memory.intercept_, rtol=1e-6)
    assert_allclose(native.loss_curve_, in_memory.loss_curve_, rtol=1e-6)


def test_dask_multinomial_full_batch_with_dask_targets_and_weights():
    X, y = make_classification(1500, 8, n_informative=5, n_classes=3, random_state=0)
    weights = np.linspace(0.5, 2.0, y.shape[0])
    in_memory = GDClassifier(random_state=0).fit(X, y, sample_weight=weights)
    native = GDClassifier(random_state=0).fit(
        da.from_array(X, chunks=400),
        da.from_array(y, chunks=400),
        sample_weight=da.from_array(weights, chunks=400),
    )
    assert_allclose(native.coef_, in_memory.coef_, rtol=1e-6, atol=1e-12)
    X_dask = da.from_array(X, chunks=400)
    for method in ("decision_function", "predict_proba", "predict"):
        lazy = getattr(native, method)(X_dask)
        assert isinstance(lazy, da.Array)
        expected = getattr(native, method)(X)
        assert_array_equal(lazy.compute(), expected) if method == "predict" else (
            assert_allclose(lazy.compute(), expected, rtol=1e-12)
        )


def test_dask_mini_batches_stream_shuffled_chunks():
    X, y = _regression(4000)
    exact = Ridge(alpha=1e-4 * y.shape[0]).fit(X, y)
    model = GDRegressor(
        batch_size=32, schedule="cosine", max_iter=30, tol=None, random_state=0
    )
    native = clone(model).fit(da.from_array(X, chunks=512), y)
    in_memory = clone(model).fit(X, y)
    # Different row orders, the same quality: both near the exact solution.
    for fitted in (native, in_memory):
        assert_allclose(fitted.coef_, exact.coef_, rtol=2e-2, atol=2e-2)
    assert (
        native.t_ == in_memory.t_ == 30 * 4000 // 32
    )  # 500-row chunks: no short batch
    # A fixed seed gives the same fit twice; another seed another row order.
    again = clone(model).fit(da.from_array(X, chunks=512), y)
    assert_array_equal(again.coef_, native.coef_)
    other = clone(model).set_params(random_state=1)
    other.fit(da.from_array(X, chunks=512), y)
    assert not np.array_equal(other.coef_, native.coef_)


def test_dask_dataframe_fit_keeps_the_feature_names():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, y = _regression(600)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    model = GDRegressor(random_state=0).fit(dd.from_pandas(frame, 3), y)
    assert_array_equal(model.feature_names_in_, frame.columns)
    in_memory = GDRegressor(random_state=0).fit(frame, y)
    assert_allclose(model.coef_, in_memory.coef_, rtol=1e-10)
    predicted = model.predict(dd.from_pandas(frame, 3))
    assert_allclose(predicted.compute(), in_memory.predict(frame), rtol=1e-8)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(dd.from_pandas(frame.rename(columns={"f0": "g"}), 3))


def test_dask_early_stopping_scores_the_held_out_rows():
    X, y = make_classification(2000, 6, random_state=0)
    model = GDClassifier(early_stopping=True, random_state=0, batch_size=64)
    native = clone(model).fit(da.from_array(X, chunks=500), y)
    assert len(native.validation_scores_) == native.n_iter_
    assert native.best_validation_score_ > 0.8


@pytest.mark.parametrize(
    "X, message",
    [
        (da.from_array(np.array([[1.0, np.nan], [0.0, 1.0]] * 5)), "NaN or infinity"),
        (da.ones(10), "2-dimensional"),
        (da.from_array(np.array([["a", "b"]] * 10)), "must hold numbers"),
    ],
)
def test_dask_bad_input_is_refused_with_the_reason(X, message):
    with pytest.raises(ValueError, match=message):
        GDRegressor().fit(X, np.arange(10.0))


# -- memory-mapped fit --------------------------------------------------------------


@pytest.fixture
def mapped(tmp_path):
    X, y = _regression(3000)
    path = tmp_path / "X.npy"
    np.save(path, X)
    return X, y, np.load(path, mmap_mode="r")


def test_memmap_mini_batches_stream_chunks(mapped, monkeypatch):
    from sklearn_gd import _data

    monkeypatch.setattr(_data, "STREAM_BYTES", 48 * 250)  # 250 rows a chunk
    X, y, X_mapped = mapped
    exact = Ridge(alpha=1e-4 * y.shape[0]).fit(X, y)
    # sgd: solver="auto" takes SAGA in memory, which needs every row there.
    model = GDRegressor(
        solver="sgd", batch_size=50, schedule="cosine", max_iter=30, tol=None,
        random_state=0,
    )  # fmt: skip
    streamed = clone(model).fit(X_mapped, y)
    assert streamed.t_ == 30 * 3000 // 50  # chunks are whole batches
    assert_allclose(streamed.coef_, exact.coef_, rtol=2e-2, atol=2e-2)
    unshuffled = clone(model).set_params(shuffle=False)
    assert_allclose(
        unshuffled.fit(X_mapped, y).coef_, unshuffled.fit(X, y).coef_, rtol=1e-10
    )


def test_memmap_fit_does_not_copy_X(tmp_path, monkeypatch):
    import tracemalloc

    from sklearn_gd import _data

    monkeypatch.setattr(_data, "STREAM_BYTES", 2**20)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 40))
    y = X[:, 0] + 0.1 * rng.normal(size=60_000)
    np.save(tmp_path / "X.npy", X)
    X_mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    model = GDRegressor(batch_size=64, max_iter=2, tol=None, random_state=0)

    def peak(data):
        model.fit(data[:100], y[:100])  # compile and warm up outside the count
        tracemalloc.start()
        model.fit(data, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # In memory a fit shuffles a copy of X; a memory map is read in place,
    # a chunk (here 1 MiB) at a time, plus at most 20,000 rows (6.4 MB) for the
    # automatic learning rate and a few values a row (2.4 MB each).
    assert peak(X) > X.nbytes
    assert peak(X_mapped) < 0.6 * X.nbytes


def test_an_array_whose_copy_would_not_fit_is_read_in_place(monkeypatch):
    import tracemalloc

    from sklearn_gd import _data

    monkeypatch.setattr(_data, "STREAM_BYTES", 2**20)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 40))
    y = X @ rng.normal(size=40) + 0.1 * rng.normal(size=60_000)
    model = GDRegressor(batch_size=64, max_iter=3, tol=None, random_state=0)
    model.fit(X[:100], y[:100])  # compile outside the count
    roomy = clone(model).fit(X, y)
    assert roomy.solver_ == "saga"  # the shuffled copy, in memory
    # Less memory available than twice X: no copy, chunks as for a memory map.
    monkeypatch.setattr(_data, "available_memory", lambda: X.nbytes)
    tracemalloc.start()
    tight = clone(model).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.6 * X.nbytes
    assert tight.solver_ == "sgd"  # SAGA keeps its memory only for rows in memory
    ridge = Ridge(alpha=1e-4 * len(y)).fit(X, y)
    assert tight.score(X, y) == pytest.approx(ridge.score(X, y), abs=1e-3)


def test_dask_chunks_shorter_than_a_batch_are_regrouped():
    X, y = _regression(1000)
    data = DaskRows(
        da.from_array(X, chunks=10), y[:, None], np.ones(1000), 32, shuffle=True
    )
    lengths = data.X.chunks[0]
    assert min(lengths[:-1]) >= 32 and sum(lengths) == 1000
    assert data.n_batches == sum(-(-length // 32) for length in lengths)


@pytest.mark.parametrize("batch_size", ["full", 32])
def test_dask_divergence_keeps_finite_coefficients(batch_size):
    X, y = _regression(2000)
    model = GDRegressor(learning_rate=1e6, batch_size=batch_size)
    with pytest.raises(DivergenceError, match="diverged"):
        model.fit(da.from_array(X, chunks=500), y)
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()


@pytest.mark.parametrize(
    "estimator, dtype, weighted",
    [
        (GDRegressor(penalty="l1", alpha=0.01), np.float64, True),
        (GDRegressor(solver="adagrad", fit_intercept=False), np.float64, False),
        # Not adam in float32: its normalised steps turn rounding into
        # lr-sized moves wherever a gradient is near zero.
        (GDRegressor(solver="nesterov"), np.float32, True),
        (GDClassifier(), np.float64, True),
        (GDClassifier(loss="hinge", solver="nesterov"), np.float64, False),
    ],
    ids=["l1-zero-weights", "adagrad-no-intercept", "nesterov-float32",
         "multinomial", "hinge-ovr"],
)  # fmt: skip
def test_chunked_full_batch_matches_memory_across_settings(
    estimator, dtype, weighted, tmp_path, monkeypatch
):
    from sklearn_gd import _data

    rng = np.random.default_rng(3)
    X = (rng.normal(size=(900, 5)) * [1, 3, 0.5, 2, 1]).astype(dtype)
    if isinstance(estimator, GDClassifier):
        y = np.argmax(X @ rng.normal(size=(5, 3)), axis=1)
    else:
        y = np.column_stack([X @ rng.normal(size=5), X[:, 0]])  # two targets
    weights = rng.integers(0, 3, size=900).astype(float) if weighted else None
    monkeypatch.setattr(_data, "STREAM_BYTES", 5 * X.itemsize * 128)  # 8 chunks
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    model = clone(estimator).set_params(max_iter=60, tol=None, random_state=0)
    in_memory = clone(model).fit(X, y, sample_weight=weights)
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    if model.get_params()["loss"] == "log_loss":
        # The full-batch logistic step follows the measured curvature, which
        # turns the summation order's rounding into differences of ~1e-9 in
        # the path (sklearn_gd._accelerated).
        rtol = 1e-7
    for data in (mapped, da.from_array(X, chunks=200)):
        chunked = clone(model).fit(data, y, sample_weight=weights)
        assert chunked.coef_.dtype == dtype
        assert_allclose(chunked.coef_, in_memory.coef_, rtol=rtol, atol=rtol * 1e-2)
        assert_allclose(chunked.loss_curve_, in_memory.loss_curve_, rtol=rtol)
