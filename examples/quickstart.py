"""Quickstart: GDRegressor and GDClassifier on data sets bundled with scikit-learn.

Fits both estimators with their defaults, compares them with scikit-learn's
exact solvers, then shows the solvers side by side with how far each fit
ended from the optimum (``gap_estimate_``).

Run with ``python examples/quickstart.py``.
"""

import time
import warnings

from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor


def fit_and_score(model, X_train, X_test, y_train, y_test):
    started = time.perf_counter()
    model.fit(X_train, y_train)
    return model.score(X_test, y_test), time.perf_counter() - started


def main():
    print("Regression: diabetes (R^2 on a held-out quarter)")
    X, y = load_diabetes(return_X_y=True)
    # Load the compiled kernels once, so the timings below are of the fits.
    GDRegressor(max_iter=1, tol=None).fit(X[:20], y[:20])
    split = train_test_split(X, y, random_state=0)
    for name, estimator in [
        ("GDRegressor()", GDRegressor(random_state=0)),
        ("Ridge (exact)", Ridge(alpha=1e-4 * len(split[2]))),
    ]:
        score, seconds = fit_and_score(
            make_pipeline(StandardScaler(), estimator), *split
        )
        print(f"  {name:<22} R^2 = {score:.3f}   {seconds * 1000:6.1f} ms")

    print("\nClassification: breast cancer (accuracy on a held-out quarter)")
    X, y = load_breast_cancer(return_X_y=True)
    split = train_test_split(X, y, random_state=0, stratify=y)
    for name, estimator in [
        ("GDClassifier()", GDClassifier(random_state=0)),
        ("LogisticRegression", LogisticRegression()),
    ]:
        score, seconds = fit_and_score(
            make_pipeline(StandardScaler(), estimator), *split
        )
        print(f"  {name:<22} acc = {score:.3f}   {seconds * 1000:6.1f} ms")

    print("\nSolvers side by side: digits, 10 classes, 3-fold cross-validation")
    print("  (gap bound: the fit's own estimate of (f - f*) / f*; above tol=1e-4")
    print("  a fit warns with it, silenced here because the table shows it)")
    X, y = load_digits(return_X_y=True)
    header = ("solver", "used", "batch", "accuracy", "epochs", "gap bound")
    print("  {:<10} {:<12} {:>6} {:>9} {:>7} {:>10}".format(*header))
    for solver in ["auto", "sgd", "nesterov", "adagrad", "rmsprop", "adam"]:
        for batch_size in [32, "full"]:
            model = make_pipeline(
                StandardScaler(),
                GDClassifier(solver=solver, batch_size=batch_size, random_state=0),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                accuracy = cross_val_score(model, X, y, cv=3).mean()
                fitted = model.fit(X, y)[-1]
            print(
                f"  {solver:<10} {fitted.solver_:<12} {batch_size!s:>6} "
                f"{accuracy:9.3f} {fitted.n_iter_:7d} {fitted.gap_estimate_:10.1e}"
            )


if __name__ == "__main__":
    main()
