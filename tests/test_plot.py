"""The displays draw what they are given."""

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDRegressor, minimize
from sklearn_gd.plot import DescentPathDisplay, LossCurveDisplay

matplotlib.use("Agg")


def test_loss_curve_display_draws_each_curve_and_validation(diabetes):
    X, y = diabetes
    plain = GDRegressor(max_iter=20, tol=None).fit(X, y)
    stopped = GDRegressor(early_stopping=True, batch_size=32, random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator({"plain": plain, "early": stopped})
    assert_allclose(display.lines_["plain"].get_ydata(), plain.loss_curve_)
    assert display.validation_ax_ is not None
    values = np.concatenate([plain.loss_curve_, stopped.loss_curve_])
    spans_a_decade = values.max() / values.min() >= 10
    assert display.ax_.get_yscale() == ("log" if spans_a_decade else "linear")


def test_loss_curve_display_accepts_a_pipeline(diabetes):
    X, y = diabetes
    pipeline = make_pipeline(StandardScaler(), GDRegressor(max_iter=5, tol=None))
    display = LossCurveDisplay.from_estimator(pipeline.fit(X, y))
    (line,) = display.lines_.values()
    assert len(line.get_ydata()) == 5


def test_descent_path_display_draws_the_minimize_path():
    def bowl(v):
        return 6 * v[0] ** 2 + 9 * v[1] ** 2 - 12 * v[0] - 14 * v[1] + 3

    result = minimize(bowl, [2.0, -1.0], learning_rate=0.03)
    display = DescentPathDisplay.from_result({"a": result}, bowl)
    assert_allclose(display.lines_["a"].get_xydata(), result.path)
    assert display.ax_.collections  # the contours


def test_descent_path_from_estimator_follows_partial_fits(diabetes):
    X, y = diabetes
    settings = dict(
        fit_intercept=False, max_iter=10, batch_size="full", solver="sgd", momentum=0.0
    )
    display = DescentPathDisplay.from_estimator(GDRegressor(**settings), X[:, :2], y)
    (line,) = display.lines_.values()
    path = line.get_xydata()
    assert path.shape == (11, 2)
    reference = GDRegressor(**settings, tol=None).fit(X[:, :2], y)
    assert_allclose(path[-1], reference.coef_, rtol=1e-12)


def test_descent_path_rejects_more_than_two_parameters():
    with pytest.raises(ValueError, match="1 or 2 parameters"):
        DescentPathDisplay(lambda v: 0.0, {"p": np.zeros((3, 3))}).plot()


def test_loss_curve_display_draws_the_best_estimator_of_a_search(diabetes):
    from sklearn.model_selection import GridSearchCV

    X, y = diabetes
    search = GridSearchCV(GDRegressor(max_iter=8, tol=None), {"alpha": [1e-4, 1e-1]})
    with pytest.raises(ValueError, match="best_estimator_"):
        LossCurveDisplay.from_estimator(search)
    display = LossCurveDisplay.from_estimator(search.fit(X, y))
    (line,) = display.lines_.values()
    assert_allclose(line.get_ydata(), search.best_estimator_.loss_curve_)


def test_curves_of_a_list_are_labelled_by_the_settings_that_differ(diabetes):
    X, y = diabetes
    models = [
        GDRegressor(solver=solver, max_iter=10, tol=None).fit(X, y)
        for solver in ("sgd", "adam")
    ]
    display = LossCurveDisplay.from_estimator(models)
    assert list(display.lines_) == ["solver='sgd'", "solver='adam'"]


def test_a_narrow_range_is_drawn_on_a_linear_axis_and_labels_fit():
    wide = LossCurveDisplay({"decades": np.logspace(2, -3, 30)}).plot()
    assert wide.ax_.get_yscale() == "log"
    narrow = LossCurveDisplay({"tail": np.linspace(3.0, 1.0, 30)}).plot()
    assert narrow.ax_.get_yscale() == "linear"
    # Constrained layout: the y label is drawn inside the figure.
    figure = narrow.figure_
    figure.canvas.draw()
    box = narrow.ax_.yaxis.label.get_window_extent()
    assert box.x0 >= 0


def test_descent_path_from_estimator_takes_a_label_and_refuses_classifiers():
    from sklearn_gd import GDClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -2.0]
    model = GDRegressor(fit_intercept=False, max_iter=5)
    display = DescentPathDisplay.from_estimator(model, X, y, label="five epochs")
    assert list(display.lines_) == ["five epochs"]
    with pytest.raises(ValueError, match="numeric targets"):
        DescentPathDisplay.from_estimator(model, X, np.array(["a", "b"] * 15))
    with pytest.raises(ValueError, match="squared-error objective"):
        DescentPathDisplay.from_estimator(
            GDClassifier(fit_intercept=False), X, np.array(["a", "b"] * 15)
        )


def test_a_search_inside_a_pipeline_is_unwrapped_and_no_curves_draw_nothing(diabetes):
    from sklearn.model_selection import GridSearchCV

    X, y = diabetes
    search = GridSearchCV(GDRegressor(max_iter=5, tol=None), {"alpha": [1e-4, 1e-2]})
    pipeline = make_pipeline(StandardScaler(), search).fit(X, y)
    display = LossCurveDisplay.from_estimator(pipeline)
    (line,) = display.lines_.values()
    assert len(line.get_ydata()) == 5
    assert LossCurveDisplay.from_estimator({}).lines_ == {}


@pytest.mark.parametrize("params", [{"loss": "huber"}, {"penalty": "l1"}])
def test_descent_path_from_estimator_refuses_objectives_it_cannot_draw(params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    model = GDRegressor(fit_intercept=False, **params)
    with pytest.raises(ValueError, match="squared error with an L2 penalty"):
        DescentPathDisplay.from_estimator(model, X, X @ [1.0, 2.0])
