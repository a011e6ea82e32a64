"""Scale-out and persistence: dask-ml's Incremental, a LocalCluster, memmaps, skops."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification

from sklearn_gd import GDClassifier, GDRegressor

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

    _, _, X_dask, y_dask = blocks
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        incremental = Incremental(GDClassifier(random_state=0), shuffle_blocks=False)
        incremental.fit(X_dask, y_dask, classes=[0, 1])
        predicted = incremental.predict(X_dask).compute()
    assert predicted.shape == (X_dask.shape[0],)
    assert np.mean(predicted == y_dask.compute()) > 0.8


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
