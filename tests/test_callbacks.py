"""scikit-learn's callbacks (sklearn.callback) on both estimators."""

from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor


def test_scoring_monitor_scores_every_epoch_as_if_the_fit_ended_there(diabetes):
    X, y = diabetes
    monitor = ScoringMonitor(scoring="r2")
    settings = dict(solver="sgd", momentum=0.0, tol=None)
    GDRegressor(max_iter=6, **settings).set_callbacks(monitor).fit(X, y)
    epochs = [
        row["r2"] for row in monitor.get_logs().data if row["task_name"] == "epoch"
    ]
    assert len(epochs) == 6
    for k, logged in enumerate(epochs, start=1):
        stopped_here = GDRegressor(max_iter=k, **settings).fit(X, y)
        assert_allclose(logged, stopped_here.score(X, y), rtol=1e-12)


def test_scoring_monitor_on_the_classifier(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    GDClassifier(max_iter=4, tol=None).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    assert [row["task_name"] for row in rows].count("epoch") == 4
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in rows)


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_progress_bar_advances_once_per_epoch(estimator, diabetes, iris):
    pytest.importorskip("rich")
    from sklearn.callback._progressbar import RichProgressMonitor

    X, y = diabetes if estimator is GDRegressor else iris
    records = []
    original = RichProgressMonitor._on_task_end

    def record(self, task_info):
        original(self, task_info)
        records.append(self.root_rich_task.progress)

    with mock.patch.object(RichProgressMonitor, "_on_task_end", record):
        estimator(max_iter=5, tol=None).set_callbacks(ProgressBar()).fit(X, y)
    assert_allclose(records, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0])


def test_a_callback_can_stop_training(diabetes):
    X, y = diabetes

    class StopAfterThree:
        def setup(self, estimator, context):
            self.ends = 0

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context):
            self.ends += 1
            return self.ends >= 3

        def teardown(self, estimator, context):
            pass

    model = GDRegressor(max_iter=50, tol=None).set_callbacks(StopAfterThree()).fit(X, y)
    assert model.n_iter_ == 3


def test_callbacks_inside_grid_search_and_pipeline(iris):
    pytest.importorskip("rich")
    X, y = iris
    # ProgressBar propagates from the search to the estimators it fits;
    # ScoringMonitor is set on the estimator itself and survives cloning.
    monitor = ScoringMonitor(scoring="accuracy")
    classifier = GDClassifier(max_iter=3, tol=None).set_callbacks(monitor)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), classifier),
        {"gdclassifier__solver": ["sgd", "adam"]},
        cv=2,
    )
    search.set_callbacks(ProgressBar())
    search.fit(X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    # 2 candidates x 2 folds + the refit, 3 epochs each.
    assert len(epochs) == (2 * 2 + 1) * 3
    assert np.isfinite([row["accuracy"] for row in epochs]).all()
