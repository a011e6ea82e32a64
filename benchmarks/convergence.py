"""Where default fits end: the relative objective gap to the exact solver, in one run.

Two tables:

* the convergence matrix of ``tests/convergence_problems.py`` (bundled data
  raw and scaled, near-separable, ill-conditioned, wide, hinge, L1): for
  each problem the default full-batch fit and a ``batch_size=64`` fit, with
  their gap, epochs, seconds, whether they warned, and the exact solver's
  seconds;
* large data (200,000 x 100 by default): seconds of a default fit and its
  gap, against the exact solvers timed on the same data in the same run
  (Ridge, LogisticRegression with lbfgs and saga, LinearSVC with the hinge
  loss), each with its own gap on the same objective.

Usage::

    python benchmarks/convergence.py            # both tables, as Markdown
    python benchmarks/convergence.py --quick    # 20,000 rows for the second
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402
from tests.convergence_problems import (  # noqa: E402
    Problem,
    exact_optimum,
    objective,
    problems,
    relative_gap,
)


def timed_fit(model, X, y):
    """Return ``(seconds, warned)`` of ``model.fit(X, y)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, warned


def exact_seconds(problem):
    """Return ``(J*, seconds)`` of the exact solver of ``problem``."""
    start = time.perf_counter()
    optimum = exact_optimum(problem)
    return optimum, time.perf_counter() - start


def matrix():
    print("#### default fits on the convergence matrix (relative objective gap)")
    print(
        "| problem | exact solver s | full batch: gap | epochs | s | warned "
        "| batch 64: gap | epochs | s | warned |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for problem in problems():
        optimum, exact = exact_seconds(problem)
        cells = [problem.name, f"{exact:.3f}"]
        estimator = GDClassifier if problem.classifier else GDRegressor
        for batch_size in ("auto", 64):
            model = estimator(**problem.params(), batch_size=batch_size)
            seconds, warned = timed_fit(model, problem.X, problem.y)
            gap = relative_gap(problem, model, optimum)
            cells += [f"{gap:.1e}", str(model.n_iter_), f"{seconds:.2f}"]
            cells.append("yes" if warned else "no")
        print("| " + " | ".join(cells) + " |", flush=True)


def large(n_samples, n_features=100):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features)) * rng.uniform(0.5, 2, n_features)
    w = rng.normal(size=n_features)
    alpha = 1e-4
    C = 1 / (alpha * n_samples)
    score = X @ w / np.sqrt(n_features)
    labels = (score + rng.logistic(size=n_samples) > 0).astype(int)
    cases = [
        (
            Problem(
                "regression", X, score + rng.normal(size=n_samples), "squared_error"
            ),
            {
                "GDRegressor()": GDRegressor(),
                "GDRegressor(batch_size=64)": GDRegressor(batch_size=64),
                "Ridge()": Ridge(alpha=alpha * n_samples),
            },
        ),
        (
            Problem("binary log_loss", X, labels, "log_loss"),
            {
                "GDClassifier()": GDClassifier(),
                "GDClassifier(batch_size=64)": GDClassifier(batch_size=64),
                "LogisticRegression(lbfgs)": LogisticRegression(C=C),
                "LogisticRegression(saga)": LogisticRegression(C=C, solver="saga"),
            },
        ),
        (
            Problem("binary hinge", X, labels, "hinge"),
            {
                "GDClassifier(loss='hinge')": GDClassifier(loss="hinge"),
                "LinearSVC(loss='hinge')": LinearSVC(loss="hinge", C=C),
            },
        ),
    ]
    print(f"\n#### seconds and final gap of default fits, {n_samples} x {n_features}")
    print("| problem | estimator | seconds | relative gap | warned |")
    print("|---|---|---|---|---|")
    for problem, models in cases:
        optimum = None
        rows = []
        for name, model in models.items():
            seconds, warned = timed_fit(model, problem.X, problem.y)
            value = objective(problem, model.coef_, model.intercept_)
            rows.append((name, seconds, value, warned))
        # The best objective any of them reached stands in for J* where the
        # exact solver of the problem (SVC) is too slow at this size.
        if problem.loss != "hinge":
            optimum = exact_optimum(problem)
        best = min(value for _, _, value, _ in rows)
        optimum = best if optimum is None else min(optimum, best)
        for name, seconds, value, warned in rows:
            gap = (value - optimum) / optimum
            print(
                f"| {problem.name} | {name} | {seconds:.2f} | {gap:.1e} "
                f"| {'yes' if warned else 'no'} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args()
    matrix()
    large(20_000 if args.quick else 200_000)


if __name__ == "__main__":
    main()
