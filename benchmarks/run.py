"""Time sklearn-gd against its peers, in one run on the same data.

Per-epoch times are differences: a fit of ``k + 1`` epochs minus a fit of 1
epoch, divided by ``k``, so set-up (validation, copies, the automatic learning
rate) is left out; each figure is the median of ``--repeats`` (default 5)
such differences.
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
    """Median seconds per epoch of ``make(max_iter)`` fitted on X, y.

    Each repeat times a fit of 1 epoch and one of ``epochs + 1`` back to
    back; the median of those differences is steadier than the difference of
    two medians, which a single slow fit can make negative.
    """
    make(1).fit(X[:500], y[:500])  # compile / warm up
    differences = []
    for _ in range(repeats):
        one = timed(lambda: make(1).fit(X, y), 1)
        many = timed(lambda: make(epochs + 1).fit(X, y), 1)
        differences.append(many - one)
    return max(statistics.median(differences), 1e-9) / epochs


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
    # Full-batch epochs are short: time 10 of them for a steadier difference.
    ours = per_epoch(
        gd(GDRegressor, batch_size="full", learning_rate=lr), X, y, repeats, 10
    )
    numpy_gradient = two_pass_gradient(X, y, repeats)
    row("full batch", ours, "numpy X.T @ (X @ w - y)", numpy_gradient)
    ours = per_epoch(
        gd(GDRegressor, batch_size="full", learning_rate=lr, n_jobs=2),
        X, y, repeats, 10,
    )  # fmt: skip
    row("full batch, n_jobs=2", ours, "numpy X.T @ (X @ w - y)", numpy_gradient)
    return {"one_pass_ms": floor * 1e3, "rows": rows}


def classification(n_samples, n_features, n_classes, repeats):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_samples, n_features))
    y = np.argmax(X @ rng.normal(size=(n_features, n_classes)), axis=1)
    rows = []
    for loss in ("log_loss", "hinge"):
        ours = per_epoch(
            gd(GDClassifier, loss=loss, batch_size=1, solver="sgd", momentum=0.0,
               learning_rate=1e-4),
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
    for n_jobs in (None, 2):
        ours = per_epoch(
            gd(GDClassifier, batch_size="full", learning_rate=1e-4, n_jobs=n_jobs),
            X, y, repeats, 10,
        )  # fmt: skip
        rows.append(
            {"case": f"log_loss, full batch, n_jobs={n_jobs}", "ours_ms": ours * 1e3}
        )
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
        gd(GDClassifier, loss="hinge", batch_size=1, solver="sgd", momentum=0.0,
           learning_rate=1e-3),
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


def _objective(kind, X, y, coef, intercept, alpha):
    scores = X @ np.ravel(coef) + np.ravel(intercept)[0]
    penalty = 0.5 * alpha * float(np.sum(np.square(coef)))
    if kind == "regression":
        return 0.5 * float(np.mean((y - scores) ** 2)) + penalty
    margins = np.where(y == 1, scores, -scores)
    return float(np.mean(np.logaddexp(0.0, -margins))) + penalty


def _coefficients(model):
    if hasattr(model, "coefs_"):  # MLP with hidden_layer_sizes=()
        return model.coefs_[0], model.intercepts_[0]
    return model.coef_, model.intercept_


def _seconds_to_gap(make, seed, kind, X, y, optimum, alpha, budget, gap):
    """Return ``(seconds or None, best gap)`` of ``make(max_iter, seed)``."""
    best = np.inf
    for max_iter in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144):
        model = make(max_iter, seed)
        seconds = timed(lambda model=model: model.fit(X, y), 1)
        coef, intercept = _coefficients(model)
        value = _objective(kind, X, y, coef, intercept, alpha)
        best = min(best, (value - optimum) / optimum)
        if best <= gap:
            again = [
                timed(lambda m=max_iter: make(m, seed).fit(X, y), 1) for _ in range(2)
            ]
            return statistics.median([seconds, *again]), best
        if getattr(model, "n_iter_", max_iter) < max_iter or seconds > budget:
            return None, best
    return None, best


def time_to_gap(n_samples, n_features, budget, gap=1e-3):
    """Seconds each estimator's defaults need to bring the objective within gap.

    Each estimator is fitted with its defaults and ``max_iter`` in 1, 2, 3, 5,
    8, ... until the relative gap to the exact optimum (Ridge or
    LogisticRegression on the same objective) is below ``gap``, its own
    stopping rule ends the fit first, or a fit takes longer than ``budget``.
    The defaults' ``random_state=None`` makes the peers' times vary from run
    to run (MLP's random start decides whether one epoch is enough: 0.16 to
    0.47 s here), so each estimator is timed with seeds 0, 1 and 2 and the
    median reported, each time the median of three fits.
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    rng = np.random.default_rng(3)
    X = rng.normal(size=(n_samples, n_features))
    w = rng.normal(size=n_features)
    alpha = 1e-4
    problems = {
        "regression": (
            X @ w + rng.normal(size=n_samples),
            Ridge(alpha=alpha * n_samples),
            {
                "GDRegressor()": lambda m, s: GDRegressor(max_iter=m, random_state=s),
                "SGDRegressor()": lambda m, s: SGDRegressor(max_iter=m, random_state=s),
                "MLPRegressor(())": lambda m, s: MLPRegressor(
                    hidden_layer_sizes=(), max_iter=m, random_state=s
                ),
            },
        ),
        "binary log_loss": (
            (X @ w / np.sqrt(n_features) + rng.logistic(size=n_samples) > 0).astype(
                int
            ),
            LogisticRegression(C=1 / (alpha * n_samples), solver="newton-cholesky"),
            {
                "GDClassifier()": lambda m, s: GDClassifier(max_iter=m, random_state=s),
                "SGDClassifier(log_loss)": lambda m, s: SGDClassifier(
                    loss="log_loss", max_iter=m, random_state=s
                ),
                "MLPClassifier(())": lambda m, s: MLPClassifier(
                    hidden_layer_sizes=(), max_iter=m, random_state=s
                ),
            },
        ),
    }
    rows = []
    for kind, (y, exact, estimators) in problems.items():
        exact.fit(X, y)
        optimum = _objective(kind, X, y, exact.coef_, exact.intercept_, alpha)
        for name, make in estimators.items():
            results = [
                _seconds_to_gap(make, seed, kind, X, y, optimum, alpha, budget, gap)
                for seed in (0, 1, 2)
            ]
            times = [seconds for seconds, _ in results if seconds is not None]
            reached = statistics.median(times) if len(times) >= 2 else None
            rows.append(
                {"case": kind, "estimator": name, "seconds": reached,
                 "seconds_per_seed": [seconds for seconds, _ in results],
                 "best_gap": min(best for _, best in results)}
            )  # fmt: skip
    return {"rows": rows}


def scaling(repeats):
    """Per-epoch milliseconds of the default solver at batch 32 as the data grows."""
    rows = []
    rng = np.random.default_rng(4)
    for n_samples, n_features in [
        (25_000, 100), (50_000, 100), (100_000, 100), (200_000, 100),
        (100_000, 25), (100_000, 50), (100_000, 200), (100_000, 400),
    ]:  # fmt: skip
        X = rng.normal(size=(n_samples, n_features))
        y = X @ rng.normal(size=n_features)
        ours = per_epoch(
            gd(GDRegressor, batch_size=32, learning_rate=1e-4), X, y, repeats
        )
        rows.append(
            {"n_samples": n_samples, "n_features": n_features, "ours_ms": ours * 1e3,
             "one_pass_ms": one_pass(X, repeats) * 1e3}
        )  # fmt: skip
    return {"rows": rows}


def memory(n_samples, n_features, repeats):
    """Peak memory a fit allocates (tracemalloc), from memory and from a memmap.

    numpy reports its allocations to tracemalloc; the pages of a memory-mapped
    file are not allocations, so the figure is the fit's own extra memory.
    """
    import tempfile
    import tracemalloc
    from pathlib import Path

    rng = np.random.default_rng(5)
    X = rng.normal(size=(n_samples, n_features))
    y = X @ rng.normal(size=n_features) + rng.normal(size=n_samples)
    path = Path(tempfile.mkdtemp()) / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    rows = []
    for label, params in [
        ("full batch, auto rate", {}),
        ("batch 64, auto rate", {"batch_size": 64}),
        ("batch 64, learning_rate=0.01", {"batch_size": 64, "learning_rate": 0.01}),
    ]:
        for source, data in (("in memory", X), ("memmap", mapped)):
            model = GDRegressor(max_iter=3, tol=None, random_state=0, **params)
            model.fit(data[:500], y[:500])  # compile outside the count
            tracemalloc.start()
            model.fit(data, y)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            seconds = timed(lambda model=model, data=data: model.fit(data, y), repeats)
            rows.append(
                {"case": label, "source": source, "peak_mb": peak / 1e6,
                 "x_mb": X.nbytes / 1e6, "fit_s": seconds}
            )  # fmt: skip
    path.unlink()
    return {"rows": rows}


def dask_overhead(n_samples, n_features, repeats):
    """Per-epoch time of a fit on a dask array (local threads) against memory.

    The dask array is persisted in 8 chunks, so the figures are the cost of
    the scheduling and, for mini-batches, of fetching and shuffling chunks.
    """
    import dask.array as da

    rng = np.random.default_rng(6)
    X = rng.normal(size=(n_samples, n_features))
    y = X @ rng.normal(size=n_features)
    X_dask = da.from_array(X, chunks=(-(-n_samples // 8), n_features)).persist()
    rows = []
    for label, params in [("full batch", {}), ("batch 256", {"batch_size": 256})]:
        make = gd(GDRegressor, learning_rate=1e-3, **params)
        memory = per_epoch(make, X, y, repeats)
        dask = per_epoch(make, X_dask, y, repeats)
        rows.append({"case": label, "memory_ms": memory * 1e3, "dask_ms": dask * 1e3})
    return {"rows": rows}


def print_dask_section(title, section):
    print(f"\n## {title}")
    print("| fit | in memory ms/epoch | dask array ms/epoch | ratio |")
    print("|---|---|---|---|")
    for r in section["rows"]:
        print(
            f"| {r['case']} | {r['memory_ms']:.1f} | {r['dask_ms']:.1f} | "
            f"{r['dask_ms'] / r['memory_ms']:.1f}x |"
        )


def print_memory_section(title, section):
    print(f"\n## {title}")
    print("| fit | X from | peak extra MB | of X's size | 3 epochs, s |")
    print("|---|---|---|---|---|")
    for r in section["rows"]:
        print(
            f"| {r['case']} | {r['source']} | {r['peak_mb']:.1f} | "
            f"{r['peak_mb'] / r['x_mb']:.2f} | {r['fit_s']:.2f} |"
        )


def print_gap_section(title, section):
    print(f"\n## {title}")
    print("| problem | defaults of | seconds to gap 1e-3 | seeds 0, 1, 2 | best gap |")
    print("|---|---|---|---|---|")
    for r in section["rows"]:
        seconds = "not reached" if r["seconds"] is None else f"{r['seconds']:.2f}"
        seeds = ", ".join(
            "-" if value is None else f"{value:.2f}" for value in r["seconds_per_seed"]
        )
        print(
            f"| {r['case']} | {r['estimator']} | {seconds} | {seeds} | "
            f"{r['best_gap']:.1e} |"
        )


def print_scaling_section(title, section):
    print(f"\n## {title}")
    print("| n_samples | n_features | ms per epoch | one pass X @ w ms | ratio |")
    print("|---|---|---|---|---|")
    for r in section["rows"]:
        ratio = r["ours_ms"] / r["one_pass_ms"]
        print(
            f"| {r['n_samples']} | {r['n_features']} | {r['ours_ms']:.1f} | "
            f"{r['one_pass_ms']:.1f} | {ratio:.1f}x |"
        )


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
    parser.add_argument("--repeats", type=int, default=5)
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
    name = f"time to a 1e-3 objective gap with default settings, {n} x 100"
    results[name] = time_to_gap(n, 100, budget=60.0 / scale)
    print_gap_section(name, results[name])
    n_memory = 400_000 // scale
    name = f"peak extra memory of a fit, {n_memory} x 100 float64"
    results[name] = memory(n_memory, 100, args.repeats)
    print_memory_section(name, results[name])
    name = f"dask array in 8 chunks (local threads) against memory, {n} x 100"
    results[name] = dask_overhead(n, 100, args.repeats)
    print_dask_section(name, results[name])
    if not args.quick:
        name = "epoch time (batch 32, sgd with momentum) as the data grows"
        results[name] = scaling(args.repeats)
        print_scaling_section(name, results[name])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
