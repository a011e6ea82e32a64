"""Realistic problems with their exact optima, for the convergence matrix and benchmark.

Each problem is a data set, a loss and a penalty; :func:`exact_optimum`
solves it with the scikit-learn solver that minimises the same objective
(module doc of ``sklearn_gd._base``)::

    J(w, b) = mean_i L(y_i, x_i . w + b) + alpha * ((1 - r) / 2 ||w||^2 + r ||w||_1)

Ridge(alpha * n), Lasso(alpha), ElasticNet(alpha, r), LogisticRegression(C=1 /
(alpha * n)) and SVC(kernel="linear", C=1 / (alpha * n)) for the hinge loss.
:func:`relative_gap` is ``(J(ours) - J*) / J*``, the measure every test and
benchmark of where a fit ends is judged by.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


@dataclass
class Problem:
    """One data set with the loss and penalty it is fitted with."""

    name: str
    X: np.ndarray
    y: np.ndarray
    loss: str
    alpha: float = 1e-4
    penalty: str = "l2"
    l1_ratio: float = 0.15
    classifier: bool = field(init=False)

    def __post_init__(self):
        self.classifier = self.loss in ("log_loss", "hinge")

    def params(self):
        """Return the estimator parameters that define this objective."""
        return {
            "loss": self.loss,
            "alpha": self.alpha,
            "penalty": self.penalty,
            "l1_ratio": self.l1_ratio,
        }

    @property
    def ratio(self):
        return {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]


def _scaled(X):
    return StandardScaler().fit_transform(X)


def _ill_conditioned(condition=1e4, n=2000, d=30, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spectrum = np.logspace(0, -np.log10(condition) / 2, d)
    X = rng.normal(size=(n, d)) * spectrum @ Q.T + 3.0
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def _near_separable(n=1000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    margin = X @ w
    y = (margin + 0.05 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _wide(n=50, d=5000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X[:, :5] @ np.arange(1.0, 6.0) + 0.1 * rng.normal(size=n)
    return X, y


def problems():
    """Return the matrix of problems (a fresh list: fits may not share arrays)."""
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True)
    digits_X, digits_y = load_digits(return_X_y=True)
    wine_X, wine_y = load_wine(return_X_y=True)
    diabetes_X, diabetes_y = load_diabetes(return_X_y=True, scaled=False)
    ill_X, ill_y = _ill_conditioned()
    sep_X, sep_y = _near_separable()
    wide_X, wide_y = _wide()
    return [
        Problem("breast_cancer scaled", _scaled(cancer_X), cancer_y, "log_loss"),
        Problem("breast_cancer raw", cancer_X, cancer_y, "log_loss"),
        Problem("digits scaled", _scaled(digits_X), digits_y, "log_loss"),
        Problem("digits raw", digits_X, digits_y, "log_loss"),
        Problem("wine raw", wine_X, wine_y, "log_loss"),
        Problem("near-separable, alpha 1e-6", sep_X, sep_y, "log_loss", alpha=1e-6),
        Problem("breast_cancer scaled, hinge", _scaled(cancer_X), cancer_y, "hinge"),
        Problem("diabetes raw", diabetes_X, diabetes_y, "squared_error"),
        Problem("diabetes scaled", _scaled(diabetes_X), diabetes_y, "squared_error"),
        Problem("ill-conditioned 1e4", ill_X, ill_y, "squared_error"),
        Problem("wide 50 x 5000, alpha 1e-2", wide_X, wide_y, "squared_error", 1e-2),
        Problem("wide 50 x 5000, alpha 1e-4", wide_X, wide_y, "squared_error"),
        Problem(
            "diabetes scaled, lasso",
            _scaled(diabetes_X),
            diabetes_y,
            "squared_error",
            alpha=0.1,
            penalty="l1",
        ),  # fmt: skip
        Problem(
            "ill-conditioned 1e4, elastic net",
            ill_X,
            ill_y,
            "squared_error",
            alpha=1e-3,
            penalty="elasticnet",
            l1_ratio=0.5,
        ),  # fmt: skip
    ]


def objective(problem, coef, intercept):
    """Return the documented objective J of ``(coef, intercept)`` on ``problem``."""
    X, y = problem.X, problem.y
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    P = X @ W.T + np.ravel(intercept)
    if problem.loss == "squared_error":
        data = 0.5 * np.mean((y - P[:, 0]) ** 2)
    else:
        classes = np.unique(y)
        if len(classes) == 2:
            z = np.where(y == classes[1], 1.0, -1.0) * P[:, 0]
            if problem.loss == "hinge":
                data = np.mean(np.maximum(0.0, 1.0 - z))
            else:
                data = np.mean(np.logaddexp(0.0, -z))
        else:
            rows = np.arange(len(y))
            data = np.mean(logsumexp(P, axis=1) - P[rows, np.searchsorted(classes, y)])
    r = problem.ratio
    return data + problem.alpha * ((1 - r) / 2 * np.sum(W * W) + r * np.sum(np.abs(W)))


def exact_optimum(problem):
    """Return J* from the exact scikit-learn solver of the same objective."""
    X, y, alpha, n = problem.X, problem.y, problem.alpha, len(problem.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if problem.loss == "log_loss":
            model = LogisticRegression(
                C=1 / (alpha * n), solver="newton-cholesky", tol=1e-12, max_iter=1000
            )
        elif problem.loss == "hinge":
            model = SVC(kernel="linear", C=1 / (alpha * n), tol=1e-10)
        elif problem.penalty == "l2":
            model = Ridge(alpha=alpha * n, solver="cholesky")
        elif problem.penalty == "l1":
            model = Lasso(alpha=alpha, tol=1e-14, max_iter=200_000)
        else:
            model = ElasticNet(
                alpha=alpha, l1_ratio=problem.l1_ratio, tol=1e-14, max_iter=200_000
            )
        model.fit(X, y)
    return objective(problem, model.coef_, model.intercept_)


def relative_gap(problem, estimator, optimum):
    """Return ``(J(estimator) - J*) / J*`` of a fitted estimator."""
    return (objective(problem, estimator.coef_, estimator.intercept_) - optimum) / abs(
        optimum
    )
