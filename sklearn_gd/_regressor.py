"""GDRegressor: linear regression trained by gradient descent."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.model_selection import ShuffleSplit
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseGD
from ._data import is_dask_collection
from ._docstrings import fill_docstring
from ._losses import REGRESSION_LOSSES


class GDRegressor(RegressorMixin, BaseGD):
    """Linear regression fitted by gradient descent.

    Minimises ``(1 / sum(s)) * sum_i s_i * L(y_i, x_i @ w + b) + alpha * R(w)``
    with any of the solvers, batch sizes and learning-rate schedules.
    Multi-output targets fit one coefficient row per target. The loss,
    penalty and ``alpha`` mean what they mean in ``SGDRegressor``, so with
    unit weights the two minimise the same objective; weights here are
    divided by their sum (``SGDRegressor`` multiplies each step by the raw
    weight), so scaling all of them changes nothing. See the
    :ref:`user guide <objective>`.

    Parameters
    ----------
    loss : {{'squared_error', 'huber', 'epsilon_insensitive', \
'squared_epsilon_insensitive'}}, default='squared_error'
        The loss ``L(y, p)``: ``(y - p)**2 / 2``; Huber's loss, quadratic within
        ``epsilon`` and linear beyond; ``max(0, |y - p| - epsilon)`` (the SVR
        loss); or its square.

    {optimization_parameters}

    epsilon : float, default=0.1
        Width of the insensitive zone of the epsilon-insensitive losses and the
        switch point of 'huber'.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients; two-dimensional for a two-dimensional ``y``.

    intercept_ : ndarray of shape (1,) or (n_targets,)
        Intercepts.

    {fitted_attributes}

    See Also
    --------
    GDClassifier : The same engine for classification.
    sklearn.linear_model.SGDRegressor : Per-sample SGD in scikit-learn.
    sklearn.linear_model.Ridge : The exact solution of the 'l2' objective.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GDRegressor(random_state=0))
    >>> round(model.fit(X, y).score(X, y), 3)
    0.518
    >>> model[-1].learning_rate_ > 0, model[-1].n_iter_ < 1000
    (True, True)
    """

    _parameter_constraints: dict = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        solver="auto",
        learning_rate="auto",
        batch_size="auto",
        momentum=0.9,
        beta_2=0.999,
        schedule="auto",
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        average=False,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
    ):
        super().__init__(
            loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            solver=solver,
            learning_rate=learning_rate,
            batch_size=batch_size,
            momentum=momentum,
            beta_2=beta_2,
            schedule=schedule,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            average=average,
            verbose=verbose,
            epsilon=epsilon,
            n_jobs=n_jobs,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the coefficients by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input is trained and returned in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        coef_init : array-like of shape (n_targets, n_features), default=None
            The coefficients to start from, in the shape of ``coef_``
            (``(n_features,)`` for one target); they take precedence over
            ``warm_start``.
        intercept_init : array-like of shape (n_targets,), default=None
            The intercepts to start from. By default the best intercepts for
            zero coefficients without ``coef_init``; with it, the fitted
            intercepts under ``warm_start``, else zero.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k copies of the row.

        Returns
        -------
        self : GDRegressor
            The fitted estimator.
        """
        reset = not (self.warm_start and hasattr(self, "coef_"))
        X, y, sample_weight = self._validate_input(
            X, y, sample_weight, reset=reset, multi_output=True
        )
        self._y_ndim = np.ndim(y)
        return self._fit(X, y, sample_weight, init=(coef_init, intercept_init))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on the block ``X, y`` of a stream.

        A block is a sample of the stream, never the data set: the weights,
        conditioning, learning rate and schedule come from the stream so far
        and carry on to the next call (see the :ref:`user guide <streams>`).
        After ``fit`` the stream continues from the fitted model; with
        ``early_stopping=True`` it raises a ValueError. A stream whose loss
        explodes raises :class:`DivergenceError` and keeps the coefficients of
        its lowest running loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A block of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. They are relative to the stream's running
            mean weight, not to this block's: a block weighted 10 pulls ten
            times as hard as one weighted 1.

        Returns
        -------
        self : GDRegressor
            The updated estimator.
        """
        first_call = not hasattr(self, "coef_")
        X, y, sample_weight = self._validate_input(
            X, y, sample_weight, reset=first_call, multi_output=True
        )
        if first_call:
            self._y_ndim = np.ndim(y)
        elif np.ndim(y) != self._y_ndim or (
            np.ndim(y) == 2 and y.shape[1] != np.shape(self._dense_coef())[0]
        ):
            raise ValueError(
                f"y has shape {np.shape(y)} but the model was fitted on "
                f"{self._y_ndim}-dimensional targets with "
                f"{np.atleast_2d(self._dense_coef()).shape[0]} outputs; pass "
                "targets of the same shape to every partial_fit call."
            )
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predict targets with the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values, in the dtype of the coefficients; a lazy dask
            array for a dask ``X``.
        """
        if is_dask_collection(X):
            n_columns = None if self._y_ndim == 1 else np.shape(self.coef_)[0]
            return self._lazy(X, self._predict_validated, n_columns, None)
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        return self._predict_validated(X)

    def _predict_validated(self, X):
        coef = np.atleast_2d(self._dense_coef())
        predictions = safe_sparse_dot(X, coef.T.astype(X.dtype, copy=False))
        predictions = predictions + self.intercept_.astype(X.dtype, copy=False)
        if self._y_ndim == 1:
            return predictions.ravel()
        return predictions

    def _encode_targets(self, y):
        return y.reshape(y.shape[0], -1)

    def _shape_coef(self, coef):
        return coef.ravel() if self._y_ndim == 1 else coef

    def _validation_score(self, X, y, sample_weight):
        # Computed once for a dask X (a lazy array would be computed by every
        # check the metric makes).
        predicted = np.asarray(self._predict_validated(X))
        return r2_score(y, predicted, sample_weight=sample_weight)

    def _split_validation(self, y, sample_weight, rng):
        n_samples = y.shape[0]
        splitter = ShuffleSplit(
            test_size=self.validation_fraction, random_state=rng.randint(2**31 - 1)
        )
        _, held_out = next(splitter.split(np.zeros(n_samples)))
        if held_out.shape[0] < 2 or held_out.shape[0] == n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves "
                f"{held_out.shape[0]} of {n_samples} rows for validation; early "
                "stopping needs at least 2 rows on each side. Change "
                "validation_fraction or set early_stopping=False."
            )
        mask = np.zeros(n_samples, dtype=bool)
        mask[held_out] = True
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


GDRegressor.__doc__ = fill_docstring(GDRegressor.__doc__)
