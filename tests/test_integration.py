"""sklearn-gd inside scikit-learn workflows: pipelines, searches, pandas, validation."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gd import Cosine, GDClassifier, GDRegressor, WarmRestarts


def test_default_pipeline_reaches_the_digits_accuracy_target():
    X, y = load_digits(return_X_y=True)
    scores = cross_val_score(
        make_pipeline(StandardScaler(), GDClassifier()), X, y, cv=3
    )
    # LogisticRegression gets 0.929 here and SGDClassifier's defaults 0.900.
    assert scores.mean() >= 0.91


def test_grid_search_over_solver_schedule_and_batch_on_a_dataframe():
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    search = GridSearchCV(
        make_pipeline(StandardScaler(), GDClassifier(random_state=0, max_iter=50)),
        {
            "gdclassifier__solver": ["sgd", "adam"],
            "gdclassifier__schedule": ["constant", Cosine(), WarmRestarts(period=5)],
            "gdclassifier__batch_size": [8, "full"],
        },
        cv=3,
        n_jobs=2,
        error_score="raise",
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 12
    assert search.best_score_ > 0.9
    assert list(search.best_estimator_.feature_names_in_) == list(X.columns)
    assert search.predict(X.iloc[:5]).shape == (5,)


def test_grid_search_reaches_into_schedule_parameters():
    X, y = load_diabetes(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), GDRegressor(schedule=WarmRestarts())),
        {"gdregressor__schedule__period": [2, 5], "gdregressor__momentum": [0.0, 0.9]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["gdregressor__schedule__period"] in (2, 5)
    assert search.best_score_ > 0.4


def test_column_transformer_with_categorical_and_numeric_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=300),
            "colour": rng.choice(["red", "green", "blue"], size=300),
        }
    )
    effect = frame["colour"].map({"red": 2.0, "green": -1.0, "blue": 0.5})
    target = 3 * frame["size"] + effect + rng.normal(scale=0.1, size=300)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("numeric", StandardScaler(), ["size"]),
                ("categorical", OneHotEncoder(), ["colour"]),
            ]
        ),
        GDRegressor(batch_size="full", random_state=0),
    )
    assert model.fit(frame, target).score(frame, target) > 0.99


def test_dataframe_input_keeps_feature_names_and_warns_on_arrays():
    data = load_diabetes(as_frame=True)
    model = GDRegressor(max_iter=5, tol=None).fit(data.data, data.target)
    assert list(model.feature_names_in_) == list(data.data.columns)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(data.data.to_numpy())


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "lbfgs"}, "solver"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"momentum": 1.0}, "momentum"),
        ({"schedule": "linear"}, "schedule"),
        ({"penalty": "l3"}, "penalty"),
        ({"loss": "log_loss"}, "loss"),
    ],
)
def test_bad_parameters_name_themselves(params, message):
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        GDRegressor(**params).fit(X, y)


@pytest.mark.parametrize("where", ["X", "y", "sample_weight"])
def test_non_finite_input_is_rejected(where):
    X, y = load_diabetes(return_X_y=True)
    X, y, weights = X.copy(), y.copy(), np.ones(len(y))
    {"X": X, "y": y, "sample_weight": weights}[where].flat[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GDRegressor().fit(X, y, sample_weight=weights)


def test_negative_and_all_zero_sample_weights_are_rejected():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="Negative values"):
        GDRegressor().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="sample_weight"):
        GDRegressor().fit(X, y, sample_weight=np.zeros(len(y)))


def test_sample_weight_is_routed_through_pipeline_and_grid_search():
    X, y = load_diabetes(return_X_y=True)
    weights = np.random.default_rng(0).integers(1, 4, size=y.shape[0]).astype(float)
    with sklearn.config_context(enable_metadata_routing=True):
        regressor = GDRegressor(random_state=0).set_fit_request(sample_weight=True)
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipeline = make_pipeline(scaler, regressor).fit(X, y, sample_weight=weights)
        search = GridSearchCV(
            make_pipeline(scaler, regressor),
            {"gdregressor__alpha": [1e-4, 1e-2]},
            cv=KFold(3),
            scoring=get_scorer("r2").set_score_request(sample_weight=True),
        ).fit(X, y, sample_weight=weights)
    X_scaled = StandardScaler().fit_transform(X)
    direct = GDRegressor(random_state=0).fit(X_scaled, y, sample_weight=weights)
    unweighted = GDRegressor(random_state=0).fit(X_scaled, y)
    coef = pipeline[-1].coef_
    assert_allclose(coef, direct.coef_, rtol=1e-10)
    assert not np.allclose(coef, unweighted.coef_, rtol=1e-3)
    # The search's refit got the weights too.
    best = search.best_estimator_[-1]
    expected = (
        clone(direct)
        .set_params(alpha=best.alpha)
        .fit(X_scaled, y, sample_weight=weights)
    )
    assert_allclose(best.coef_, expected.coef_, rtol=1e-10)


def test_set_output_pandas_pipeline_end_to_end():
    frame = load_iris(as_frame=True)
    X = frame.data.assign(size=lambda d: np.where(d["petal length (cm)"] > 4, "L", "S"))
    features = ColumnTransformer(
        [
            ("numbers", StandardScaler(), list(frame.data.columns)),
            ("size", OneHotEncoder(sparse_output=False), ["size"]),
        ]
    ).set_output(transform="pandas")
    pipeline = make_pipeline(features, GDClassifier(random_state=0)).fit(
        X, frame.target
    )
    model = pipeline[-1]
    assert list(model.feature_names_in_) == list(features.get_feature_names_out())
    assert model.feature_names_in_[0] == "numbers__sepal length (cm)"
    assert pipeline.score(X, frame.target) > 0.9
    assert pipeline.predict_proba(X.iloc[:5]).shape == (5, 3)
