"""Wide sparse data, as HashingVectorizer makes it, against SGDClassifier.

Rows of ~50 nonzeros among 2^18 or 2^20 columns, drawn with Zipf-like
frequencies (a few columns are in most rows, as common words are), each row
scaled to unit norm; labels from a sparse linear rule with 5% flipped.
For ``batch_size`` 1 and 32 with default settings (``fit`` picks SAGA for
mini-batches in memory; ``partial_fit`` streams with sgd and momentum 0.9):

* **epoch ms**: the median of ``--repeats`` paired differences, a fit of 11
  epochs minus a fit of 1, over 10 (with 5 epochs the difference was within
  this machine's noise: batch-32 epochs ranged from 2 to 17 ms); for
  ``partial_fit``, the median time of a call over all rows once the stream
  has begun;
* **set-up s**: a 1-epoch fit minus one epoch (validation, the automatic
  learning rate, the shuffled copy, the final exact pass);
* **peak memory**: the most a fit allocates (tracemalloc), in coefficient
  vectors (8 bytes a column);

beside ``SGDClassifier()`` timed the same way on the same data (and its
``partial_fit`` call), in one run.

A second table says what an epoch buys, on the same logistic objective
(``alpha=1e-4``; ``SGDClassifier(loss="log_loss")``) against
``LogisticRegression(C=1 / (alpha * n))``: the seconds of the fit of the
fewest epochs (1, 2, 4, ... 256, ``tol=None``) whose relative objective gap
is at most 1e-3, and where the default fit stops (our fits on their
certified estimate of the gap, ``tol=1e-4``; ``SGDClassifier`` when its
loss stops improving by ``tol=1e-3``).

Usage::

    python benchmarks/sparse_text.py
    python benchmarks/sparse_text.py --rows 4000 --repeats 3
"""

import argparse
import statistics
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from run import timed  # benchmarks/run.py, beside this file
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier

from sklearn_gd import GDClassifier

warnings.simplefilter("ignore", ConvergenceWarning)


def text_like(n_rows, n_columns, nonzeros, seed=0):
    """Return ``(X, y)``: unit-norm CSR rows of Zipf-distributed columns."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, n_columns + 1)
    frequency = 1.0 / ranks
    frequency /= frequency.sum()
    columns = rng.choice(n_columns, size=(n_rows, nonzeros), p=frequency)
    columns = rng.permutation(n_columns)[columns]  # hashed: common ones anywhere
    values = rng.exponential(size=(n_rows, nonzeros))
    indptr = np.arange(0, n_rows * nonzeros + 1, nonzeros)
    X = sp.csr_matrix((values.ravel(), columns.ravel(), indptr), (n_rows, n_columns))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    X.sort_indices()  # canonical, as HashingVectorizer returns it
    rule = np.zeros(n_columns)
    informative = rng.choice(n_columns, size=n_columns // 50, replace=False)
    rule[informative] = rng.normal(size=informative.shape[0])
    y = (X @ rule > 0).astype(int)
    flip = rng.random(n_rows) < 0.05
    return X, np.where(flip, 1 - y, y)


def epoch_and_setup(make, X, y, repeats):
    """Return ``(seconds per epoch, set-up seconds)`` of ``make(max_iter).fit``."""
    make(1).fit(X[:200], y[:200])  # compile
    ones, differences = [], []
    for _ in range(repeats):
        one = timed(lambda: make(1).fit(X, y), 1)
        eleven = timed(lambda: make(11).fit(X, y), 1)
        ones.append(one)
        differences.append((eleven - one) / 10)
    epoch = max(statistics.median(differences), 1e-9)
    return epoch, max(statistics.median(ones) - epoch, 0.0)


def stream_epoch(model, X, y, repeats):
    """Median seconds of one ``partial_fit`` call over all rows, mid-stream."""
    model.partial_fit(X, y, classes=[0, 1])
    return timed(lambda: model.partial_fit(X, y), repeats)


def peak_memory(make, X, y):
    make(1).fit(X[:200], y[:200])
    tracemalloc.start()
    make(3).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def relative_gap(X, y, alpha, optimum, model):
    """Return ``(J - J*) / J*`` of ``model`` on the logistic objective."""
    z = np.where(y == 1, 1.0, -1.0) * (X @ model.coef_.ravel() + model.intercept_[0])
    coef = model.coef_.ravel()
    value = np.mean(np.logaddexp(0.0, -z)) + 0.5 * alpha * float(coef @ coef)
    return (value - optimum) / optimum


def time_to_gap(X, y, target=1e-3, alpha=1e-4):
    """Print the rows of the time-to-gap table for one X (module doc)."""
    n = X.shape[0]
    exact = LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=10_000)
    exact.fit(X, y)
    z = np.where(y == 1, 1.0, -1.0) * (X @ exact.coef_.ravel() + exact.intercept_[0])
    coef = exact.coef_.ravel()
    optimum = np.mean(np.logaddexp(0.0, -z)) + 0.5 * alpha * float(coef @ coef)
    candidates = [
        (f"GDClassifier(batch_size={batch!r})",
         lambda batch=batch, **kw: GDClassifier(
             batch_size=batch, alpha=alpha, random_state=0, **kw))
        for batch in ("auto", 1, 32)
    ] + [
        ('SGDClassifier(loss="log_loss")',
         lambda **kw: SGDClassifier(
             loss="log_loss", alpha=alpha, random_state=0, **kw)),
    ]  # fmt: skip
    for name, make in candidates:
        make(max_iter=1).fit(X[:200], y[:200])  # compile
        reached = "not in 256"
        for max_iter in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            model = make(max_iter=max_iter, tol=None)
            seconds = timed(lambda m=model: m.fit(X, y), 1)
            if relative_gap(X, y, alpha, optimum, model) <= target:
                reached = f"{seconds:.2f} ({max_iter})"
                break
        model = make()
        seconds = timed(lambda m=model: m.fit(X, y), 1)
        gap = relative_gap(X, y, alpha, optimum, model)
        print(
            f"| 2^{int(np.log2(X.shape[1]))} | {name} | {reached} | "
            f"{seconds:.2f} | {model.n_iter_} | {gap:.1e} |"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"{args.rows} rows, ~50 nonzeros a row; epoch ms, set-up s, peak memory "
        "in coefficient vectors (8 bytes a column); SGDClassifier() beside\n"
    )
    print(
        "| columns | batch | fit (saga): epoch ms | set-up s | peak vectors "
        "| fit, sgd + momentum: epoch ms | partial_fit: epoch ms "
        "| SGDClassifier: epoch ms | its partial_fit ms | fit / SGD |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for log_columns in (18, 20):
        n_columns = 2**log_columns
        X, y = text_like(args.rows, n_columns, 50)
        peer, _ = epoch_and_setup(
            lambda m: SGDClassifier(max_iter=m, tol=None, random_state=0),
            X, y, args.repeats,
        )  # fmt: skip
        peer_stream = stream_epoch(SGDClassifier(random_state=0), X, y, args.repeats)
        for batch in (1, 32):

            def make(max_iter, batch=batch):
                return GDClassifier(
                    batch_size=batch, max_iter=max_iter, tol=None, random_state=0
                )

            epoch, setup = epoch_and_setup(make, X, y, args.repeats)
            peak = peak_memory(make, X, y) / (8 * n_columns)
            momentum, _ = epoch_and_setup(
                lambda m, batch=batch: GDClassifier(
                    solver="sgd", batch_size=batch, max_iter=m, tol=None,
                    random_state=0,
                ),
                X, y, args.repeats,
            )  # fmt: skip
            streamed = stream_epoch(
                GDClassifier(batch_size=batch, random_state=0), X, y, args.repeats
            )
            print(
                f"| 2^{log_columns} | {batch} | {epoch * 1e3:.1f} | {setup:.2f} | "
                f"{peak:.1f} | {momentum * 1e3:.1f} | {streamed * 1e3:.1f} | "
                f"{peer * 1e3:.1f} | {peer_stream * 1e3:.1f} | "
                f"{epoch / peer:.2f}x |"
            )
    print(
        f"\nTime to a relative objective gap of 1e-3 ({args.rows} rows, alpha=1e-4): "
        "seconds of the fit of the fewest epochs (1, 2, 4, ... 256, tol=None) "
        "that reaches it; then the default fit (tol as default): seconds, "
        "epochs, and the gap where it stopped\n"
    )
    print(
        "| columns | estimator | seconds to 1e-3 (epochs) | default fit: seconds "
        "| epochs | gap |"
    )
    print("|---|---|---|---|---|---|")
    for log_columns in (18, 20):
        time_to_gap(*text_like(args.rows, 2**log_columns, 50))


if __name__ == "__main__":
    main()
