"""
Training on more data than the workers' memory
==============================================

A dask array passed to ``fit`` trains where its chunks are: with full-batch
descent each worker computes its chunks' loss gradients, the client adds them
up and takes the step, and the chunks are dropped again. Here the data is
generated chunk by chunk, as it would be read from Parquet or Zarr files, and
is larger than the memory the two workers are given: no worker ever holds it,
and neither does the client, which keeps only the targets (one number a row).

Run it from the command line (it is not run when the documentation is built)::

    python examples/dask_larger_than_memory.py --rows 2500000 --memory-limit 600MiB

The coefficients are checked against those of the model that generated the
data.
"""

import argparse
import time

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

from sklearn_gd import GDRegressor


def make_chunk(true_coef, block_info=None):
    """One chunk of rows and targets, the same each time it is computed."""
    (start, stop), _ = block_info[None]["array-location"]
    chunk_rng = np.random.default_rng(start)
    X = chunk_rng.normal(size=(stop - start, true_coef.shape[0]))
    y = X @ true_coef + 3.0 + chunk_rng.normal(size=stop - start)
    return np.column_stack([X, y])


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_500_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=25_000)
    parser.add_argument("--memory-limit", default="600MiB", help="per worker")
    args = parser.parse_args()

    true_coef = np.random.default_rng(0).normal(size=args.features)
    data = da.map_blocks(
        make_chunk,
        true_coef,
        chunks=(
            (args.chunk_rows,) * (args.rows // args.chunk_rows),
            (args.features + 1,),
        ),
        dtype=np.float64,
    )
    X, y = data[:, :-1], data[:, -1]
    print(f"X: {X.shape[0]:,} x {X.shape[1]} float64 = {X.nbytes / 2**30:.2f} GiB")
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit=args.memory_limit,
            dashboard_address=None,
        ) as cluster,
        Client(cluster),
    ):
        print(f"workers: 2 x {args.memory_limit}")
        started = time.perf_counter()
        model = GDRegressor(max_iter=30, tol=1e-6).fit(X, y)
        print(
            f"fit: {model.n_iter_} epochs in {time.perf_counter() - started:.1f} s, "
            f"final objective {model.loss_curve_[-1]:.4f}"
        )
    # The noise limits the accuracy to about 1 / sqrt(rows) per coefficient.
    error = np.max(np.abs(model.coef_ - true_coef))
    print(
        f"largest coefficient error: {error:.4f}, intercept {model.intercept_[0]:.4f}"
    )
    assert error < 5 / np.sqrt(args.rows)


if __name__ == "__main__":
    main()
