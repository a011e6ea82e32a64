"""Where a stream of ``partial_fit`` calls ends, against scikit-learn's SGD.

Each problem is cut into blocks of ``--block`` rows (100 by default), and
``--passes`` passes (30) of ``partial_fit`` run over the blocks in a fixed
order, with default settings: ``GDRegressor()`` / ``GDClassifier()`` against
``SGDRegressor()`` / ``SGDClassifier(loss="log_loss")``, which minimise the
same objective at the same ``alpha``. The table gives the relative objective
gap ``(J - J*) / J*`` after the last pass, where ``J*`` is the exact
optimum (Ridge, LogisticRegression), and the seconds of the whole stream.

Usage::

    python benchmarks/streaming.py
    python benchmarks/streaming.py --passes 10 --block 50
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    make_classification,
    make_regression,
)
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_gd import GDClassifier, GDRegressor  # noqa: E402
from tests.convergence_problems import (  # noqa: E402
    Problem,
    exact_optimum,
    objective,
)


def _standardised(X, y=None):
    X = StandardScaler().fit_transform(X)
    if y is None:
        return X
    return X, (y - y.mean()) / y.std()


def stream_problems():
    """Return ``(name, Problem)`` pairs of standardised data, shuffled once."""
    rng = np.random.RandomState(0)
    X, y = make_regression(
        n_samples=10_000, n_features=20, n_informative=10, noise=30.0, random_state=0
    )
    regression = _standardised(X, y)
    X, y = load_diabetes(return_X_y=True)
    diabetes = _standardised(X, y)
    X, y = make_classification(
        n_samples=10_000, n_features=20, n_informative=8, flip_y=0.05, random_state=0
    )
    classification = _standardised(X), y
    X, y = load_breast_cancer(return_X_y=True)
    cancer = _standardised(X), y
    found = []
    for name, (X, y), loss in (
        ("regression 10,000 x 20", regression, "squared_error"),
        ("diabetes", diabetes, "squared_error"),
        ("classification 10,000 x 20", classification, "log_loss"),
        ("breast cancer", cancer, "log_loss"),
    ):
        order = rng.permutation(len(y))
        found.append(Problem(name, X[order], y[order], loss))
    return found


def stream(model, problem, block, passes, classes):
    """Run ``passes`` passes of ``partial_fit`` over blocks; return the seconds."""
    X, y = problem.X, problem.y
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(passes):
            for first in range(0, len(y), block):
                rows = slice(first, first + block)
                if classes is None:
                    model.partial_fit(X[rows], y[rows])
                else:
                    model.partial_fit(X[rows], y[rows], classes=classes)
    return time.perf_counter() - start


def gap(problem, model, optimum):
    value = objective(problem, model.coef_, model.intercept_)
    return (value - optimum) / abs(optimum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=30)
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args(argv)
    print(
        f"{args.passes} passes of partial_fit over blocks of {args.block} rows, "
        "default settings; relative objective gap to the exact optimum "
        "(seconds of the whole stream)\n"
    )
    print("| problem | sklearn-gd | scikit-learn SGD |")
    print("|---|---|---|")
    for problem in stream_problems():
        optimum = exact_optimum(problem)
        if not problem.classifier:
            ours, theirs, classes = GDRegressor(), SGDRegressor(), None
        else:
            ours = GDClassifier()
            theirs = SGDClassifier(loss="log_loss")
            classes = np.unique(problem.y)
        cells = []
        for model in (ours, theirs):
            model.set_params(random_state=0)
            seconds = stream(model, problem, args.block, args.passes, classes)
            cells.append(f"{gap(problem, model, optimum):.1e} ({seconds:.2f} s)")
        print(f"| {problem.name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
