"""Time sklearn-gd against its peers, in one run on the same data.

Per-epoch times are differences: a fit of ``k + 1`` epochs minus a fit of 1
epoch, divided by ``k``, so set-up (validation, copies, the automatic learning
rate) is left out; each figure is the median of ``--repeats`` measurements.
Ratios compare figures taken in this same run.

Usage::

    python benchmarks/run.py                 # the full suite, a table per section
    python benchmarks/run.py --quick         # smaller data, for a smoke test
    python benchmarks/run.py --json out.json # also write every figure as JSON
"""

import argparse
import json
import platform
import statistics
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_gd import GDClassifier, GDRegressor

warnings.simplefilter("ignore", ConvergenceWarning)


def timed(function, repeats):
    """Return the median wall time of ``function()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_epoch(make, X, y, repeats, epochs=4):
    """Median seconds per epoch of ``make(max_iter)`` fitted on X, y."""
    make(1).fit(X[:500], y[:500])  # compile / warm up
    one = timed(lambda: make(1).fit(X, y), repeats)
    many = timed(lambda: make(epochs + 1).fit(X, y), repeats)
    return max(many - one, 1e-9) / epochs


def one_pass(X, repeats):
    w = np.ones(X.shape[1], dtype=X.dtype)
    return timed(lambda: X @ w, repeats * 5)


def two_pass_gradient(X, y, repeats):
    w = np.ones(X.shape[1], dtype=X.dtype)
    return timed(lambda: X.T @ (X @ w - y), repeats * 5)


def gd(estimator, **params):
    return lambda max_iter: estimator(max_iter=max_iter, tol=None, **params)


def mlp(estimator, batch_size, **params):
    return lambda max_iter: estimator(
        hidden_layer_sizes=(),
        batch_size=batch_size,
        max_iter=max_iter,
        tol=0.0,
        n_iter_no_change=10**6,
        **params,
    )


def dense_regression(n_samples, n_features, dtype, repeats):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    y = (X @ rng.normal(size=n_features) + rng.normal(size=n_samples)).astype(dtype)
    floor = one_pass(X, repeats)
    rows = []
    lr = 1e-4

    def row(name, ours, peer_name=None, peer=None):
        entry = {"case": name, "ours_ms": ours * 1e3, "ours_vs_one_pass": ours / floor}
        if peer is not None:
            entry.update(peer=peer_name, peer_ms=peer * 1e3, speedup=peer / ours)
        rows.append(entry)

    ours = per_epoch(
        gd(GDRegressor, batch_size=1, solver="sgd", momentum=0.0, learning_rate=lr),
        X, y, repeats,
    )  # fmt: skip
    sgd = per_epoch(
        lambda m: SGDRegressor(
            max_iter=m, tol=None, learning_rate="constant", eta0=lr, penalty="l2"
        ),
        X, y, repeats,
    )  # fmt: skip
    row("batch 1, sgd", ours, "SGDRegressor", sgd)
    for batch in (32, 256):
        ours = per_epoch(
            gd(GDRegressor, batch_size=batch, solver="sgd", momentum=0.9,
               learning_rate=lr),
            X, y, repeats,
        )  # fmt: skip
        peer = per_epoch(
            mlp(MLPRegressor, batch, solver="sgd", momentum=0.9,
                nesterovs_momentum=False, learning_rate_init=lr, alpha=1e-4),
            X, y, repeats,
        )  # fmt: skip
        row(f"batch {batch}, sgd momentum 0.9", ours, "MLPRegressor(())", peer)
        ours = per_epoch(
            gd(GDRegressor, batch_size=batch, solver="adam", learning_rate=lr),
            X, y, repeats,
        )  # fmt: skip
        peer = per_epoch(
            mlp(MLPRegressor, batch, solver="adam", learning_rate_init=lr, alpha=1e-4),
            X, y, repeats,
        )  # fmt: skip
        row(f"batch {batch}, adam", ours, "MLPRegressor(())", peer)
    ours = per_epoch(
        gd(GDRegressor, batch_size="full", learning_rate=lr), X, y, repeats
    )
    row("full batch", ours, "numpy X.T @ (X @ w - y)", two_pass_gradient(X, y, repeats))
    return {"one_pass_ms": floor * 1e3, "rows": rows}


def classification(n_samples, n_features, n_classes, repeats):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_samples, n_features))
    y = np.argmax(X @ rng.normal(size=(n_features, n_classes)), axis=1)
    rows = []
    for loss in ("log_loss", "hinge"):
        ours = per_epoch(
            gd(GDClassifier, loss=loss, batch_size=1, momentum=0.0, learning_rate=1e-4),
            X, y, repeats,
        )  # fmt: skip
        peer = per_epoch(
            lambda m, loss=loss: SGDClassifier(
                loss=loss, max_iter=m, tol=None, learning_rate="constant", eta0=1e-4
            ),
            X, y, repeats,
        )  # fmt: skip
        rows.append(
            {"case": f"{loss}, batch 1", "ours_ms": ours * 1e3, "peer": "SGDClassifier",
             "peer_ms": peer * 1e3, "speedup": peer / ours}
        )  # fmt: skip
    ours = per_epoch(
        gd(GDClassifier, batch_size=32, solver="adam", learning_rate=1e-4),
        X, y, repeats,
    )  # fmt: skip
    peer = per_epoch(
        mlp(MLPClassifier, 32, solver="adam", learning_rate_init=1e-4, alpha=1e-4),
        X, y, repeats,
    )  # fmt: skip
    rows.append(
        {"case": "log_loss, batch 32, adam", "ours_ms": ours * 1e3,
         "peer": "MLPClassifier(())", "peer_ms": peer * 1e3, "speedup": peer / ours}
    )  # fmt: skip
    return {"rows": rows}


def sparse_classification(n_samples, n_features, nnz_per_row, repeats):
    rng = np.random.default_rng(2)
    columns = rng.integers(0, n_features, size=(n_samples, nnz_per_row))
    X = sp.csr_matrix(
        (
            rng.random(n_samples * nnz_per_row),
            columns.ravel(),
            np.arange(0, n_samples * nnz_per_row + 1, nnz_per_row),
        ),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    w = rng.normal(size=n_features)
    y = (X @ w > 0).astype(int)
    ours = per_epoch(
        gd(GDClassifier, loss="hinge", batch_size=1, momentum=0.0, learning_rate=1e-3),
        X, y, repeats,
    )  # fmt: skip
    peer = per_epoch(
        lambda m: SGDClassifier(
            loss="hinge", max_iter=m, tol=None, learning_rate="constant", eta0=1e-3
        ),
        X, y, repeats,
    )  # fmt: skip
    return {
        "rows": [
            {"case": "CSR hinge, batch 1", "ours_ms": ours * 1e3,
             "peer": "SGDClassifier", "peer_ms": peer * 1e3, "speedup": peer / ours}
        ]
    }  # fmt: skip


def print_section(title, section):
    print(f"\n## {title}")
    if "one_pass_ms" in section:
        print(f"one pass X @ w: {section['one_pass_ms']:.1f} ms")
    print("| case | ours ms/epoch | peer | peer ms/epoch | speed-up | vs X @ w |")
    print("|---|---|---|---|---|---|")
    for r in section["rows"]:
        vs = f"{r['ours_vs_one_pass']:.1f}x" if "ours_vs_one_pass" in r else ""
        peer_ms = r.get("peer_ms", float("nan"))
        speedup = r.get("speedup", float("nan"))
        print(
            f"| {r['case']} | {r['ours_ms']:.1f} | {r.get('peer', '')} | "
            f"{peer_ms:.1f} | {speedup:.1f}x | {vs} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    results = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cores": __import__("os").cpu_count(),
        }
    }
    n = 200_000 // scale
    for dtype in (np.float64, np.float32):
        name = f"dense regression {n} x 100 {np.dtype(dtype).name}"
        results[name] = dense_regression(n, 100, dtype, args.repeats)
        print_section(name, results[name])
    for n_classes in (2, 10):
        name = f"classification {n} x 100, {n_classes} classes"
        results[name] = classification(n, 100, n_classes, args.repeats)
        print_section(name, results[name])
    name = f"sparse CSR {100_000 // scale} x 50000, ~100 nonzeros a row"
    results[name] = sparse_classification(100_000 // scale, 50_000, 100, args.repeats)
    print_section(name, results[name])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
