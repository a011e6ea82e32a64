"""Mini-batch fits on a dask LocalCluster: time and bytes per epoch, and the gap.

A ``LocalCluster`` of worker processes (one thread each) holds ``X`` in
``--chunks`` chunks; ``GDRegressor(batch_size=256)`` and
``GDClassifier(batch_size=256)`` train on it with 1 and with 2 workers, and
on the same rows in memory. Per epoch: the wall time and the bytes the
workers sent (their own transfer counters: to each other and to the
client), as a share of X's size. Both come from differences between a fit of
``--epochs + 1`` epochs and one of 1, so set-up is left out. The last
columns fit with default settings (``tol`` included) and give the relative
objective gap ``(J - J*) / J*`` to the exact optimum (Ridge,
LogisticRegression) and the epochs taken.

Usage::

    python benchmarks/dask_local.py
    python benchmarks/dask_local.py --rows 100000 --chunks 16
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402
from tests.convergence_problems import (  # noqa: E402
    Problem,
    exact_optimum,
    objective,
)

warnings.simplefilter("ignore", ConvergenceWarning)
# The benchmark sends its X to the cluster from memory, on purpose.
warnings.filterwarnings("ignore", "Sending large graph")


def problems(n_rows, n_features, seed=0):
    """Return ``{name: (estimator, X, y)}``: a regression and a classification."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    coef = rng.normal(size=n_features)
    y_regression = X @ coef + rng.normal(size=n_rows)
    y_classes = X @ coef / np.sqrt(n_features) + rng.logistic(size=n_rows) > 0
    return {
        "regression": (GDRegressor(batch_size=256, random_state=0), X, y_regression),
        "classification": (
            GDClassifier(batch_size=256, random_state=0),
            X,
            y_classes.astype(int),
        ),
    }


def sent(client):
    """Return the bytes every worker has sent so far, summed."""
    return sum(
        client.run(
            lambda dask_worker: dask_worker.transfer_outgoing_bytes_total
        ).values()
    )


def per_epoch(fit, epochs, client=None, repeats=3):
    """Return ``(seconds, bytes)`` per epoch: a fit of ``epochs + 1`` minus one of 1.

    The median of ``repeats`` such differences.
    """
    seconds, moved = [], []
    for _ in range(repeats):
        figures = []
        for n_epochs in (1, epochs + 1):
            before = sent(client) if client is not None else 0
            started = time.perf_counter()
            fit(n_epochs)
            elapsed = time.perf_counter() - started
            after = sent(client) if client is not None else 0
            figures.append((elapsed, after - before))
        seconds.append((figures[1][0] - figures[0][0]) / epochs)
        moved.append((figures[1][1] - figures[0][1]) / epochs)
    return statistics.median(seconds), statistics.median(moved)


def gap_of(model, X, y):
    """Return the relative objective gap of the fitted ``model`` (alpha 1e-4)."""
    problem = Problem("", X, y, model.loss)
    best = exact_optimum(problem)
    return (objective(problem, model.coef_, model.intercept_) - best) / abs(best)


def measure(name, estimator, X, y, n_workers, chunks, epochs):
    """Return one row of the table; ``n_workers=0`` is the in-memory fit."""
    from sklearn.base import clone

    def fixed(n_epochs):
        return clone(estimator).set_params(max_iter=n_epochs, tol=None)

    if n_workers == 0:
        fixed(1).fit(X[:1000], y[:1000])  # compile
        # The same algorithm as on the cluster: sgd (in memory "auto" is saga).
        # Its epochs are short against a fit's set-up: more of them, and
        # more repeats, keep the difference above the noise.
        seconds, _ = per_epoch(
            lambda k: fixed(k).set_params(solver="sgd").fit(X, y),
            4 * epochs,
            repeats=5,
        )
        model = clone(estimator).fit(X, y)
        return name, "in memory", seconds, 0.0, gap_of(model, X, y), model.n_iter_
    import dask.array as da
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        X_dask = client.persist(da.from_array(X, chunks=-(-X.shape[0] // chunks)))
        distributed.wait(X_dask)
        fixed(1).fit(X_dask, y)  # warm the workers' compiled kernels
        seconds, moved = per_epoch(lambda k: fixed(k).fit(X_dask, y), epochs, client)
        model = clone(estimator).fit(X_dask, y)
    label = f"{n_workers} worker" + ("s" if n_workers > 1 else "")
    return name, label, seconds, moved / X.nbytes, gap_of(model, X, y), model.n_iter_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    options = parser.parse_args()
    print(
        f"{options.rows:,} x {options.features} float64 in {options.chunks} chunks, "
        "batch_size=256"
    )
    print(
        f"{'problem':<16}{'where':<12}{'s / epoch':>10}{'bytes / X':>11}"
        f"{'gap':>10}{'epochs':>8}"
    )
    for name, (estimator, X, y) in problems(options.rows, options.features).items():
        for n_workers in (0, 1, 2):
            row = measure(
                name, estimator, X, y, n_workers, options.chunks, options.epochs
            )
            print(
                f"{row[0]:<16}{row[1]:<12}{row[2]:>10.3f}{row[3]:>11.2e}"
                f"{row[4]:>10.1e}{row[5]:>8d}",
                flush=True,
            )


if __name__ == "__main__":
    main()
