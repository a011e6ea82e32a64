"""Plots in scikit-learn's Display style: loss curves and descent paths.

Matplotlib is an optional dependency (``pip install "sklearn-gd[plot]"``); it is
imported when a plot is drawn. Each display keeps what it drew (``ax_``,
``figure_``, ``lines_``) so a figure can be restyled or added to.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _axes(ax):
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "Plotting needs matplotlib: pip install 'sklearn-gd[plot]'."
        ) from error
    if ax is None:
        # Constrained layout keeps tick labels and axis labels inside the figure.
        _, ax = plt.subplots(layout="constrained")
    return ax


class LossCurveDisplay:
    """Training (and validation) curves of one or more fitted estimators.

    Build it with :meth:`from_estimator`; several estimators passed at once
    share one axes, which is the usual way to compare solvers or schedules.

    Parameters
    ----------
    curves : dict of str to ndarray
        Label to the objective per epoch.
    validation_curves : dict of str to ndarray
        Label to the validation score per epoch (may be empty).

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the training curves.
    validation_ax_ : matplotlib Axes or None
        Twin axes of the validation scores, if any were drawn.
    figure_ : matplotlib Figure
        The figure.
    lines_ : dict of str to matplotlib Line2D
        The line drawn for each label.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_gd import GDRegressor
    >>> from sklearn_gd.plot import LossCurveDisplay
    >>> X, y = load_diabetes(return_X_y=True)
    >>> models = {
    ...     solver: GDRegressor(solver=solver, max_iter=50, tol=None).fit(scale(X), y)
    ...     for solver in ["sgd", "adam"]
    ... }
    >>> display = LossCurveDisplay.from_estimator(models)
    >>> sorted(display.lines_)
    ['adam', 'sgd']
    """

    def __init__(self, curves, validation_curves=None):
        self.curves = curves
        self.validation_curves = validation_curves or {}

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, log_scale=True):
        """Draw ``loss_curve_`` (and ``validation_scores_``) of fitted estimators.

        Parameters
        ----------
        estimator : estimator, list of estimators, or dict of label to estimator
            Fitted GDRegressor / GDClassifier (or a Pipeline ending in one).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=True
            Whether the objective axis is logarithmic.

        Returns
        -------
        display : LossCurveDisplay
        """
        if isinstance(estimator, dict):
            named = dict(estimator)
        elif isinstance(estimator, list | tuple):
            named = dict(zip(_distinct_labels(estimator), estimator, strict=True))
        else:
            named = {_name(estimator): estimator}
        curves, validation = {}, {}
        for label, model in named.items():
            model = _final_step(model)
            check_is_fitted(model, "loss_curve_")
            curves[label] = np.asarray(model.loss_curve_)
            if getattr(model, "validation_scores_", None):
                validation[label] = np.asarray(model.validation_scores_)
        return cls(curves, validation).plot(ax=ax, log_scale=log_scale)

    def plot(self, *, ax=None, log_scale=True):
        """Draw the curves; returns the display.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=True
            Whether the objective axis is logarithmic.

        Returns
        -------
        display : LossCurveDisplay
        """
        ax = _axes(ax)
        self.lines_ = {}
        for label, curve in self.curves.items():
            epochs = np.arange(1, len(curve) + 1)
            (self.lines_[label],) = ax.plot(epochs, curve, label=label)
        values = np.concatenate([np.ravel(c) for c in self.curves.values()] or [[]])
        values = values[np.isfinite(values)]
        # Below a factor of 10 a log axis has no labelled tick in between.
        spans = values.size and values.min() > 0 and values.max() / values.min() >= 10
        if log_scale and spans:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training objective")
        self.validation_ax_ = None
        if self.validation_curves:
            self.validation_ax_ = ax.twinx()
            for label, scores in self.validation_curves.items():
                color = self.lines_[label].get_color()
                epochs = np.arange(1, len(scores) + 1)
                self.validation_ax_.plot(
                    epochs, scores, linestyle="--", color=color,
                    label=f"{label} (validation)",
                )  # fmt: skip
            self.validation_ax_.set_ylabel("validation score (dashed)")
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class DescentPathDisplay:
    """A descent path drawn over the function it descends.

    For two parameters the path is drawn on the contours of the function; for
    one parameter, on the graph of the function.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape (1,) or (2,).
    paths : dict of str to ndarray of shape (n_steps, n_parameters)
        Label to the iterates, in order.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes.
    figure_ : matplotlib Figure
        The figure.
    lines_ : dict of str to matplotlib Line2D
        The path drawn for each label.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_gd import minimize
    >>> from sklearn_gd.plot import DescentPathDisplay
    >>> def bowl(v):
    ...     return 6 * v[0] ** 2 + 9 * v[1] ** 2 - 12 * v[0] - 14 * v[1] + 3
    >>> result = minimize(bowl, [-1.0, -1.0], learning_rate=0.03)
    >>> display = DescentPathDisplay.from_result(result, bowl)
    >>> display.lines_["path"].get_xydata().shape == result.path.shape
    True
    """

    def __init__(self, fun, paths):
        self.fun = fun
        self.paths = paths

    @classmethod
    def from_result(cls, result, fun, *, label="path", ax=None, margin=0.25):
        """Draw one or more ``minimize`` results on the graph or contours of fun.

        Parameters
        ----------
        result : OptimizeResult, or dict of label to OptimizeResult
            Results of :func:`sklearn_gd.minimize` (anything with ``path``).
        fun : callable
            The function they minimised.
        label : str, default="path"
            Label of a single result.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        margin : float, default=0.25
            Share of the paths' extent added around them.

        Returns
        -------
        display : DescentPathDisplay
        """
        results = {label: result} if hasattr(result, "path") else dict(result)
        paths = {name: np.asarray(r.path, dtype=float) for name, r in results.items()}
        return cls(fun, paths).plot(ax=ax, margin=margin)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, label=None, ax=None, margin=0.25):
        """Draw a two-coefficient model's coefficients over its objective.

        The estimator is refitted epoch by epoch with ``warm_start`` on a
        clone, recording the coefficients, so it must have two features and
        ``fit_intercept=False`` (the plane of the contours is the coefficients).

        Parameters
        ----------
        estimator : GDRegressor
            An unfitted regressor with ``fit_intercept=False``.
        X : array-like of shape (n_samples, 2)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        label : str, default=None
            Label of the path; the estimator and its solver by default.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        margin : float, default=0.25
            Share of the path's extent added around it.

        Returns
        -------
        display : DescentPathDisplay
        """
        from sklearn.base import clone

        if getattr(estimator, "_estimator_type", None) != "regressor" and not (
            hasattr(estimator, "__sklearn_tags__")
            and estimator.__sklearn_tags__().estimator_type == "regressor"
        ):
            raise ValueError(
                "DescentPathDisplay.from_estimator draws GDRegressor's squared-error "
                f"objective; got {type(estimator).__name__}. For another objective "
                "draw a minimize result with from_result."
            )
        if estimator.loss != "squared_error" or estimator.penalty not in (None, "l2"):
            raise ValueError(
                "DescentPathDisplay.from_estimator draws the squared error with an "
                f"L2 penalty; got loss={estimator.loss!r} and penalty="
                f"{estimator.penalty!r}. For another objective draw a minimize "
                "result with from_result."
            )
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                "DescentPathDisplay.from_estimator needs numeric targets y; got "
                f"values of dtype {y.dtype}."
            )
        y = y.astype(float)
        if X.ndim != 2 or X.shape[1] != 2 or estimator.fit_intercept:
            raise ValueError(
                "DescentPathDisplay.from_estimator needs two features and "
                "fit_intercept=False, so that the coefficients span the plane."
            )
        model = clone(estimator).set_params(max_iter=1, tol=None)
        if estimator.batch_size == "auto":
            model.set_params(batch_size="full")  # what fit would use
        path = [np.zeros(2)]
        for _ in range(estimator.max_iter):
            model.partial_fit(X, y)
            path.append(np.array(model.coef_, dtype=float).ravel())
        alpha = estimator.alpha if estimator.penalty == "l2" else 0.0

        def objective(w):
            return 0.5 * np.mean((y - X @ w) ** 2) + 0.5 * alpha * w @ w

        label = _name(estimator) if label is None else label
        return cls(objective, {label: np.array(path)}).plot(ax=ax, margin=margin)

    def plot(self, *, ax=None, margin=0.25, levels=30):
        """Draw the function and the paths; returns the display.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        margin : float, default=0.25
            Share of the paths' extent added around them.
        levels : int, default=30
            Number of contour levels (two parameters).

        Returns
        -------
        display : DescentPathDisplay
        """
        ax = _axes(ax)
        points = np.vstack(list(self.paths.values()))
        finite = points[np.all(np.isfinite(points), axis=1)]
        low, high = finite.min(axis=0), finite.max(axis=0)
        pad = np.maximum((high - low) * margin, 0.5)
        low, high = low - pad, high + pad
        self.lines_ = {}
        if points.shape[1] == 1:
            grid = np.linspace(low[0], high[0], 400)
            ax.plot(grid, [self.fun(np.array([g])) for g in grid], color="0.6")
            for label, path in self.paths.items():
                values = [self.fun(p) for p in path]
                (self.lines_[label],) = ax.plot(
                    path[:, 0], values, "o-", markersize=4, label=label
                )
            ax.set_xlabel("x")
            ax.set_ylabel("f(x)")
        elif points.shape[1] == 2:
            gx, gy = np.meshgrid(
                np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200)
            )
            values = self._on_grid(gx, gy)
            ax.contour(gx, gy, values, levels=levels, cmap="viridis", linewidths=0.8)
            for label, path in self.paths.items():
                (self.lines_[label],) = ax.plot(
                    path[:, 0], path[:, 1], "o-", markersize=3, label=label
                )
            ax.set_xlabel("x[0]")
            ax.set_ylabel("x[1]")
        else:
            raise ValueError(
                f"A descent path can be drawn for 1 or 2 parameters; these paths "
                f"have {points.shape[1]}."
            )
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _on_grid(self, gx, gy):
        """Return fun on the grid: in one call if it broadcasts, else point by point."""
        try:
            values = np.asarray(self.fun(np.stack([gx, gy])), dtype=float)
            if values.shape == gx.shape:
                return values
        except (TypeError, ValueError, IndexError):
            pass
        points = np.column_stack([gx.ravel(), gy.ravel()])
        return np.array([self.fun(point) for point in points]).reshape(gx.shape)


def _final_step(model):
    """Return the GD estimator inside searches (their best) and pipelines."""
    from sklearn.model_selection._search import BaseSearchCV

    while True:
        if isinstance(model, BaseSearchCV):
            if not hasattr(model, "best_estimator_"):
                raise ValueError(
                    f"{type(model).__name__} has no best_estimator_ to draw: fit "
                    "it first, with refit=True (the default)."
                )
            model = model.best_estimator_
        elif hasattr(model, "steps"):
            model = model[-1]
        else:
            return model


def _distinct_labels(models):
    """Label each model by the parameters in which it differs from the others."""
    finals = [_final_step(model) for model in models]
    params = [final.get_params(deep=False) for final in finals]
    differing = [
        key
        for key in params[0]
        if any(key not in p or repr(p[key]) != repr(params[0][key]) for p in params)
    ]
    labels = []
    for index, (final, values) in enumerate(zip(finals, params, strict=True)):
        shown = ", ".join(f"{key}={values[key]!r}" for key in differing[:3])
        labels.append(shown or f"{index}: {_name(final)}")
    if len(set(labels)) < len(labels):
        labels = [f"{index}: {label}" for index, label in enumerate(labels)]
    return labels


def _name(model):
    model = _final_step(model)
    return f"{type(model).__name__}(solver={model.solver!r})"
