"""Bad input gets a ValueError that names it; fit never modifies its input."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from sklearn_gd import GDClassifier, GDRegressor, minimize


def _square(x):
    return float(x @ x)


def _double(x):
    return 2 * x


# -- minimize ---------------------------------------------------------------------


def test_minimize_refuses_a_gradient_of_the_wrong_length():
    # It used to step the coordinates the gradient covered and silently
    # leave the others where they were.
    with pytest.raises(ValueError, match=r"one value per coordinate of x0 \(2\)"):
        minimize(_square, [1.0, 2.0], jac=lambda x: 2 * x[:1])
    with pytest.raises(ValueError, match="one value per coordinate"):
        minimize(lambda x: (_square(x), 2 * x[:1]), [1.0, 2.0], jac=True)


def test_minimize_accepts_a_scalar_gradient_in_one_dimension():
    result = minimize(_square, 3.0, jac=lambda x: 2 * x[0], learning_rate=0.1)
    assert abs(result.x[0]) < 1e-5


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"learning_rate": True}, "learning_rate"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"beta_2": -0.1}, "beta_2"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"schedule": "nope"}, "schedule"),
        ({"solver": "lbfgs"}, "solver"),
        ({"callback": "print"}, "callback"),
        ({"jac": "2-point"}, "jac"),
    ],
)
def test_minimize_names_the_bad_parameter(kwargs, name):
    kwargs = {"jac": _double, **kwargs}
    with pytest.raises(ValueError, match=name):
        minimize(_square, [1.0, 2.0], **kwargs)


def test_minimize_names_a_fun_that_cannot_be_called():
    with pytest.raises(ValueError, match="fun must be callable"):
        minimize("x ** 2", [1.0])


def test_minimize_takes_numpy_scalars_for_numbers():
    result = minimize(
        _square, [1.0, 2.0], jac=_double, learning_rate=np.float32(0.1),
        momentum=np.float64(0.5), max_iter=np.int64(500),
    )  # fmt: skip
    assert result.success


# -- the estimators ---------------------------------------------------------------


def test_n_jobs_zero_is_refused_before_joblib_sees_it():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20.0)
    with pytest.raises(ValueError, match="n_jobs"):
        GDRegressor(n_jobs=0).fit(X, y)


def _unsorted_csr(rng):
    dense = rng.normal(size=(40, 6)) * (rng.random((40, 6)) < 0.5)
    X = sp.csr_matrix(dense)
    for row in range(X.shape[0]):  # reverse each row's indices: still valid CSR
        start, stop = X.indptr[row], X.indptr[row + 1]
        X.indices[start:stop] = X.indices[start:stop][::-1].copy()
        X.data[start:stop] = X.data[start:stop][::-1].copy()
    X.has_sorted_indices = False
    return X


@pytest.mark.parametrize("kind", ["dense", "float32", "csr", "dataframe"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_fit_never_modifies_its_input(kind, method, Estimator):
    rng = np.random.default_rng(0)
    if kind == "csr":
        X = _unsorted_csr(rng)
    else:
        X = rng.normal(size=(40, 6)).astype(np.float32 if kind == "float32" else float)
        if kind == "dataframe":
            X = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    y = (
        rng.integers(0, 2, size=40)
        if Estimator is GDClassifier
        else rng.normal(size=40)
    )
    weights = rng.uniform(0.5, 2.0, size=40)
    copies = (
        X.copy(), y.copy(), weights.copy(),
        (X.indices.copy(), X.data.copy()) if kind == "csr" else None,
    )  # fmt: skip
    extra = (
        {"classes": [0, 1]} if method == "partial_fit" and y.dtype.kind == "i" else {}
    )
    getattr(Estimator(max_iter=5, tol=None), method)(
        X, y, sample_weight=weights, **extra
    )
    if kind == "csr":
        assert_array_equal(X.indices, copies[3][0])
        assert_array_equal(X.data, copies[3][1])
    elif kind == "dataframe":
        pd.testing.assert_frame_equal(X, copies[0])
    else:
        assert_array_equal(X, copies[0])
    assert_array_equal(y, copies[1])
    assert_array_equal(weights, copies[2])


# -- coef_init, intercept_init, sparsify, densify ---------------------------------


def _diabetes():
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_coef_init_starts_where_warm_start_would():
    X, y = _diabetes()
    first = GDRegressor(max_iter=5, tol=None).fit(X, y)
    warm = GDRegressor(max_iter=5, tol=None, warm_start=True).fit(X, y)
    warm.set_params(max_iter=3).fit(X, y)
    given = GDRegressor(max_iter=3, tol=None).fit(
        X, y, coef_init=first.coef_, intercept_init=first.intercept_
    )
    np.testing.assert_allclose(given.coef_, warm.coef_, rtol=1e-12)
    np.testing.assert_allclose(given.intercept_, warm.intercept_, rtol=1e-12)


def test_coef_init_at_the_optimum_stays_there():
    from sklearn.linear_model import Ridge

    X, y = _diabetes()
    ridge = Ridge(alpha=1e-4 * len(y)).fit(X, y)
    model = GDRegressor(solver="sgd", max_iter=2, tol=None).fit(
        X, y, coef_init=ridge.coef_, intercept_init=[ridge.intercept_]
    )
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-6)


@pytest.mark.parametrize(
    ("coef_init", "intercept_init", "match"),
    [
        (np.zeros(3), None, "coef_init has shape"),
        (np.zeros((2, 10)), None, "coef_init has shape"),
        (None, [0.0, 1.0], "intercept_init has 2 values"),
        (np.full(10, np.nan), None, "coef_init has NaN"),
    ],
)
def test_init_of_the_wrong_shape_is_refused(coef_init, intercept_init, match):
    X, y = _diabetes()
    with pytest.raises(ValueError, match=match):
        GDRegressor().fit(X, y, coef_init=coef_init, intercept_init=intercept_init)


def test_classifier_takes_coef_init_per_class():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    fitted = GDClassifier().fit(X, y)
    again = GDClassifier(max_iter=1, tol=None).fit(
        X, y, coef_init=fitted.coef_, intercept_init=fitted.intercept_
    )
    assert again.score(X, y) == fitted.score(X, y)
    with pytest.raises(ValueError, match="coef_init"):
        GDClassifier().fit(X, y, coef_init=np.zeros((2, 4)))


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_sparsify_keeps_predictions_and_densify_restores_the_array(Estimator):
    X, y = _diabetes()
    if Estimator is GDClassifier:
        y = (y > np.median(y)).astype(int)
    model = Estimator(penalty="l1", alpha=0.5).fit(X, y)
    dense_coef, predictions = model.coef_.copy(), model.predict(X)
    model.sparsify()
    assert sp.issparse(model.coef_)
    assert model.coef_.nnz == np.count_nonzero(dense_coef)
    assert_array_equal(model.predict(X), predictions)
    if Estimator is GDRegressor:
        np.testing.assert_allclose(model.predict(sp.csr_matrix(X)), predictions)
    model.densify()
    assert isinstance(model.coef_, np.ndarray)
    assert_array_equal(model.coef_, dense_coef)
    model.sparsify().partial_fit(X[:50], y[:50])  # training continues from it
    assert model.coef_.shape == dense_coef.shape


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_fitted_attributes_exist_in_every_configuration(early_stopping, method):
    # None where an attribute does not apply, as MLPRegressor does.
    X, y = _diabetes()
    if early_stopping and method == "partial_fit":
        return  # refused (test_streaming)
    model = getattr(GDRegressor(early_stopping=early_stopping), method)(X, y)
    for name in (
        "coef_", "intercept_", "n_iter_", "t_", "loss_curve_", "lr_curve_",
        "learning_rate_", "best_loss_", "gap_estimate_", "solver_",
        "validation_scores_", "best_validation_score_", "n_features_in_",
    ):  # fmt: skip
        assert hasattr(model, name), name
    assert (model.validation_scores_ is None) == (not early_stopping)
    assert (model.best_validation_score_ is None) == (not early_stopping)
    assert (model.best_loss_ is None) == early_stopping
    if model.best_loss_ is not None:
        assert np.isfinite(model.best_loss_)


def test_coef_init_must_have_the_shape_of_coef():
    # A transposed array of the right size was reshaped into scrambled
    # coefficients.
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    fitted = GDClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        GDClassifier().fit(X, y, coef_init=fitted.coef_.T)


def test_warm_start_with_coef_init_keeps_the_fitted_intercept():
    X, y = _diabetes()
    model = GDRegressor(warm_start=True).fit(X, y)
    intercept = model.intercept_.copy()
    model.set_params(max_iter=1, tol=None, solver="sgd", learning_rate=1e-12)
    model.fit(X, y, coef_init=model.coef_)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)
