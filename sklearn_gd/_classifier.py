"""GDClassifier: linear classification trained by gradient descent."""

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseGD
from ._data import is_dask_collection
from ._docstrings import fill_docstring
from ._losses import CLASSIFICATION_LOSSES, LOSSES


def _gives_probabilities(estimator):
    if not LOSSES[estimator.loss].gives_probabilities:
        raise AttributeError(
            f"predict_proba is not available for loss={estimator.loss!r}; use "
            "loss='log_loss' or loss='modified_huber'."
        )
    return True


class GDClassifier(ClassifierMixin, BaseGD):
    """Linear classifier fitted by gradient descent.

    Minimises ``(1 / sum(s)) * sum_i s_i * L(y_i, x_i @ W + b) + alpha * R(W)``
    with any of the solvers, batch sizes and learning-rate schedules. Two
    classes fit one coefficient row, on the objective of ``SGDClassifier``
    (with unit weights; weights here are divided by their sum). With more
    classes, ``loss='log_loss'`` is the multinomial (softmax) cross-entropy
    trained jointly, the objective of ``LogisticRegression``, not
    ``SGDClassifier``'s one-vs-rest; the margin losses are one-vs-rest, all
    classes trained in the same pass over the data. See the
    :ref:`user guide <objective>`.

    Parameters
    ----------
    loss : {{'log_loss', 'hinge', 'modified_huber', 'squared_hinge', \
'perceptron'}}, default='log_loss'
        The loss of the margin ``z = y * p`` (``y`` = +1 / -1): logistic
        ``log(1 + exp(-z))``, hinge ``max(0, 1 - z)`` (a linear SVM), modified
        Huber (a smoothed hinge that gives probabilities), squared hinge, or the
        perceptron's ``max(0, -z)``.

    {optimization_parameters}

    epsilon : float, default=0.1
        Unused by the classification losses; kept so both estimators share
        their parameters.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; 'balanced'
        uses ``n_samples / (n_classes * np.bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for two classes.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.

    {fitted_attributes}

    See Also
    --------
    GDRegressor : The same engine for regression.
    sklearn.linear_model.SGDClassifier : Per-sample SGD in scikit-learn.
    sklearn.linear_model.LogisticRegression : The exact solution of log_loss + l2.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    >>> model.fit(X, y).score(X, y)
    0.98
    >>> model.predict_proba(X[[0, 60, 120]]).round(2)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    _parameter_constraints: dict = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="log_loss",
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
        class_weight=None,
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
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the coefficients by gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input is trained and returned in float32.
        y : array-like of shape (n_samples,)
            Class labels, of any type.
        coef_init : array-like of shape (n_classes, n_features), default=None
            The coefficients to start from, in the shape of ``coef_``
            (``(1, n_features)`` or ``(n_features,)`` for two classes); they
            take precedence over ``warm_start``.
        intercept_init : array-like of shape (1,) or (n_classes,), default=None
            The intercepts to start from. By default the best intercepts for
            zero coefficients without ``coef_init``; with it, the fitted
            intercepts under ``warm_start``, else zero.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of k counts as k copies of the row.

        Returns
        -------
        self : GDClassifier
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "coef_")
        X, y, sample_weight = self._validate_input(
            X, y, sample_weight, reset=not warm, multi_output=False
        )
        check_classification_targets(y)
        classes = np.unique(y)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes.tolist()} while the "
                f"model was fitted on {self.classes_.tolist()}; set warm_start=False."
            )
        self.classes_ = classes
        self._check_two_classes()
        return self._fit(X, y, sample_weight, init=(coef_init, intercept_init))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
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
        y : array-like of shape (n_samples,)
            Its class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call and
            ignored (if equal) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. They are relative to the stream's running
            mean weight, not to this block's: a block weighted 10 pulls ten
            times as hard as one weighted 1.

        Returns
        -------
        self : GDClassifier
            The updated estimator.
        """
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs the whole training set and cannot be "
                "used with partial_fit; pass a dict computed with "
                "sklearn.utils.compute_class_weight on all classes instead."
            )
        first_call = _check_partial_fit_first_call(self, classes)
        X, y, sample_weight = self._validate_input(
            X, y, sample_weight, reset=first_call, multi_output=False
        )
        check_classification_targets(y)
        if first_call:
            self._check_two_classes()
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not in classes "
                f"{self.classes_.tolist()} given to the first partial_fit call."
            )
        return self._partial_fit(X, y, sample_weight)

    def _check_two_classes(self):
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got 1 class "
                f"({self.classes_[0]!r}). A classifier needs examples of at least "
                "two classes."
            )

    @property
    def _is_multinomial(self):
        return self.loss == "log_loss" and self.classes_.shape[0] > 2

    def _encode_targets(self, y):
        index = np.searchsorted(self.classes_, y)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            return np.where(index == 1, 1.0, -1.0).reshape(-1, 1)
        onehot = np.zeros((y.shape[0], n_classes))
        onehot[np.arange(y.shape[0]), index] = 1.0
        if self._is_multinomial:
            return onehot
        return 2.0 * onehot - 1.0

    def _class_sample_weight(self, y):
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has keys {sorted(map(str, unknown))} that are not "
                    f"classes of y ({self.classes_.tolist()})."
                )
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        return weights[np.searchsorted(self.classes_, y)]

    def decision_function(self, X):
        """Return the raw scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            The score of the positive class for two classes, else of each
            class; a lazy dask array for a dask ``X``.
        """
        if is_dask_collection(X):
            return self._lazy(X, self._decision_validated, self._n_scores, None)
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        return self._decision_validated(X)

    def _decision_validated(self, X):
        coef = self._dense_coef()
        scores = safe_sparse_dot(X, coef.T.astype(X.dtype, copy=False))
        scores = scores + self.intercept_.astype(X.dtype, copy=False)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``; a lazy dask array for a dask
            ``X``.
        """
        if is_dask_collection(X):
            return self._lazy(
                X,
                lambda chunk: self._labels_of(self._decision_validated(chunk)),
                None,
                self.classes_.dtype,
            )
        return self._labels_of(self.decision_function(X))

    @property
    def _n_scores(self):
        """Return the columns of ``decision_function`` (None: one score a row)."""
        n_classes = self.classes_.shape[0]
        return None if n_classes == 2 else n_classes

    def _labels_of(self, scores):
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_gives_probabilities)
    def predict_proba(self, X):
        """Return class probabilities (for 'log_loss' and 'modified_huber').

        'log_loss' gives the logistic (two classes) or softmax probabilities.
        'modified_huber' gives ``(clip(score, -1, 1) + 1) / 2`` per class,
        normalised over the classes, as ``SGDClassifier`` does; where several
        classes score above 1 they tie, so the most probable class can differ
        from :meth:`predict`, which compares the raw scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities of the classes, in the order of ``classes_``; a lazy
            dask array for a dask ``X``.
        """
        if is_dask_collection(X):
            return self._lazy(
                X,
                lambda chunk: self._probabilities(self._decision_validated(chunk)),
                self.classes_.shape[0],
                None,
            )
        return self._probabilities(self.decision_function(X))

    def _probabilities(self, scores):
        if self.loss == "log_loss":
            if scores.ndim == 1:
                positive = expit(scores)
                return np.column_stack([1.0 - positive, positive])
            return softmax(scores, axis=1)
        probabilities = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if scores.ndim == 1:
            return np.column_stack([1.0 - probabilities, probabilities])
        totals = probabilities.sum(axis=1, keepdims=True)
        n_classes = probabilities.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            normalised = probabilities / totals
        return np.where(totals > 0, normalised, 1.0 / n_classes)

    @available_if(_gives_probabilities)
    def predict_log_proba(self, X):
        """Return the logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities of the classes, in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def _validation_score(self, X, y, sample_weight):
        # Computed once for a dask X (a lazy array would be computed by every
        # check the metric makes).
        predicted = self._labels_of(np.asarray(self._decision_validated(X)))
        return accuracy_score(y, predicted, sample_weight=sample_weight)

    def _split_validation(self, y, sample_weight, rng):
        splitter = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=rng.randint(2**31 - 1)
        )
        try:
            _, held_out = next(splitter.split(np.zeros(y.shape[0]), y))
        except ValueError as error:
            raise ValueError(
                f"early_stopping could not hold out a stratified "
                f"validation_fraction={self.validation_fraction} of the data: "
                f"{error} Change validation_fraction or set early_stopping=False."
            ) from error
        mask = np.zeros(y.shape[0], dtype=bool)
        mask[held_out] = True
        return mask

    def _shape_coef(self, coef):
        return coef


GDClassifier.__doc__ = fill_docstring(GDClassifier.__doc__)
