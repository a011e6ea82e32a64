"""The training loop shared by GDRegressor and GDClassifier.

It runs once per epoch, so it is plain Python: it draws the epoch's row order,
asks the schedule for the epoch's learning rates, calls the compiled kernel,
records the loss, checks for divergence, and decides when to stop. Subclasses
supply the target encoding, the prediction and the validation score.
"""

import time
import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._accelerated import AcceleratedGradient
from ._convergence import Judge, convergence_message
from ._dask_rows import DaskRows, keep_if_room
from ._data import (
    ChunkedRows,
    EpochKernel,
    InMemoryRows,
    check_magnitude,
    copy_fits,
    dask_features,
    dask_rows_where,
    is_dask_collection,
    is_memory_mapped,
    map_rows,
    validate_dask_input,
)
from ._kernels import _all_ones, weighted_moments
from ._learning_rate import auto_learning_rate
from ._losses import LOSSES, MULTINOMIAL_CURVATURE
from ._penalties import penalty_strengths
from ._rules import DivergenceError, EpochRules, RunningAverage, SolverTraits
from ._schedules import SCHEDULES, Adaptive, Schedule, resolve_schedule
from ._solvers import SOLVERS, init_solver_state
from ._stream_state import AUTO_BATCH_SIZE
from ._streaming import StreamTraining

__all__ = ["BaseGD", "DivergenceError"]


class BaseGD(StreamTraining, CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Parameters, epoch loop and stopping rules common to both estimators.

    Training reports to scikit-learn callbacks (``set_callbacks``): the fit is
    the root task and each epoch a subtask, whose end passes the epoch's
    coefficients (so ``ScoringMonitor`` scores every epoch) and may ask
    training to stop.
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"auto", "saga", *SOLVERS})],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "batch_size": [
            StrOptions({"auto", "full"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "schedule": [StrOptions({"auto", *SCHEDULES}), Schedule, callable],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "verbose": ["verbose"],
        "n_jobs": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        loss,
        *,
        penalty,
        alpha,
        l1_ratio,
        fit_intercept,
        solver,
        learning_rate,
        batch_size,
        momentum,
        beta_2,
        schedule,
        max_iter,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        shuffle,
        random_state,
        warm_start,
        average,
        verbose,
        epsilon,
        n_jobs,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.momentum = momentum
        self.beta_2 = beta_2
        self.schedule = schedule
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.average = average
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs

    # -- hooks for the estimators -------------------------------------------------

    @abstractmethod
    def _encode_targets(self, y):
        """Return the float target matrix ``Y`` of shape (n_samples, n_outputs)."""

    @abstractmethod
    def _validation_score(self, X, y, sample_weight):
        """Return the score of the current coefficients on validated data."""

    @abstractmethod
    def _split_validation(self, y, sample_weight, rng):
        """Return a boolean mask of the rows held out for early stopping."""

    def _class_sample_weight(self, y):
        """Return per-row weights from ``class_weight`` (ones for regressors)."""
        return None

    def _initial_intercept(self, Y, sample_weight, pseudo_rows=False):
        """Return the starting intercepts: the best ones for zero coefficients.

        For the squared error that is the weighted mean of the targets, for the
        logistic loss the log-odds of the weighted class frequencies. Starting
        there leaves the optimum unchanged and spares the descent its largest
        and slowest direction. Other losses start from zero. ``pseudo_rows``
        (the first block of a stream, a sample of unknown worth) adds one
        row of each class to the frequencies (Laplace's rule of succession).
        """
        n_outputs = Y.shape[1]
        weights = sample_weight / sample_weight.sum()
        if self.loss == "squared_error":
            return weights @ Y
        if self.loss == "log_loss":
            n_rows = np.count_nonzero(sample_weight > 0)
            n_classes = n_outputs if self._is_multinomial else 2
            shrink = n_rows / (n_rows + n_classes) if pseudo_rows else 1.0
            even = (1.0 - shrink) / n_classes
            if self._is_multinomial:
                frequencies = np.clip(shrink * (weights @ Y) + even, 1e-12, None)
                log_frequencies = np.log(frequencies)
                return log_frequencies - log_frequencies.mean()
            positive = shrink * (weights @ (Y > 0)) + even
            positive = np.clip(positive, 1e-12, 1 - 1e-12)
            return np.log(positive / (1 - positive))
        return np.zeros(n_outputs)

    @property
    def _is_multinomial(self):
        return False

    def _curvature(self):
        if self._is_multinomial:
            return MULTINOMIAL_CURVATURE
        return LOSSES[self.loss].curvature

    # -- validation -----------------------------------------------------------------

    def _validate_input(self, X, y, sample_weight, *, reset, multi_output):
        if is_dask_collection(X):
            return validate_dask_input(
                self, X, y, sample_weight, reset=reset, multi_output=multi_output,
                y_numeric=not LOSSES[self.loss].is_classification,
            )  # fmt: skip
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=True,
            multi_output=multi_output,
            y_numeric=not LOSSES[self.loss].is_classification,
        )
        sample_weight = _check_sample_weight(
            sample_weight,
            X,
            dtype=X.dtype,
            ensure_non_negative=True,
            allow_all_zero_weights=True,
        )
        if sp.issparse(X) and not X.has_sorted_indices:
            X = X.sorted_indices()  # a copy: fit never modifies its input
        check_magnitude(X, "X", "features", "StandardScaler or MaxAbsScaler")
        if not LOSSES[self.loss].is_classification:
            check_magnitude(np.asarray(y), "y", "targets", "StandardScaler")
        return X, y, sample_weight

    def _resolve_solver(self, data, incremental):
        """Return ``solver_``; "auto" is the rule that reaches the exact optimum.

        For a full-batch ``fit`` that is "accelerated", the FISTA iteration of
        ``sklearn_gd._accelerated``; for mini-batches of rows in memory or on
        dask workers "saga", whose memory of each row's gradient removes the
        noise floor (on dask, refreshed at each epoch's start: see
        ``sklearn_gd._dask_rows``). ``partial_fit`` sees each block once and
        memory maps stream, so neither keeps a memory per row: there "auto"
        is "sgd".
        """
        remembers = isinstance(data, (InMemoryRows, DaskRows))
        if self.solver == "saga" and (incremental or not remembers):
            raise ValueError(
                "solver='saga' keeps a memory of every row's gradient, so it "
                "trains only in fit on data held in memory or on dask workers; "
                "use solver='auto' for partial_fit and memory maps."
            )
        if self.solver != "auto":
            return self.solver
        if self.average:
            return "sgd"  # averaging is SGD's companion (averaged SGD)
        loss = LOSSES[self.loss]
        if incremental:
            return "sgd"
        if data.full_batch:
            # The perceptron criterion is lowest at w = 0: no optimum to reach.
            return "sgd" if loss.minimised_at_zero else "accelerated"
        # SAGA's memory removes the noise of gradients, not of subgradients.
        return "saga" if remembers and loss.smooth else "sgd"

    @property
    def _step_solver(self):
        """The compiled step of ``solver_``: accelerated and SAGA steps are sgd's."""
        return "sgd" if self.solver_ in ("accelerated", "saga") else self.solver_

    def _resolve_batch_size(self, n_samples, incremental):
        """Return the rows per update; see ``batch_size`` in the docstring."""
        if self.batch_size == "full" or (self.batch_size == "auto" and not incremental):
            return max(n_samples, 1)
        if self.batch_size == "auto":
            stream = getattr(self, "_stream", None)
            batch = AUTO_BATCH_SIZE
            if stream is not None and stream.batch_size is not None:
                batch = stream.batch_size  # sklearn_gd._streaming
            return max(min(batch, n_samples), 1)
        return self.batch_size

    # -- parameters as one flat vector ----------------------------------------------

    # The kernels work on the centred data X - center (see run_epoch_dense), whose
    # intercept is intercept_ + center @ coef; the public attributes are those
    # of X itself.

    def _pack(self, n_features, n_outputs, dtype):
        """Return the flat parameters of ``coef_`` and ``intercept_``."""
        return self._params_of(
            self._dense_coef(), self.intercept_, n_features, n_outputs, dtype
        )

    def _params_of(self, coef, intercept, n_features, n_outputs, dtype):
        """Return the flat parameters of public coefficients and intercepts."""
        params = np.zeros(n_features * n_outputs + n_outputs, dtype=dtype)
        coef = np.asarray(coef, dtype=dtype).reshape(n_outputs, n_features)
        params[: n_features * n_outputs] = coef.T.ravel()
        intercept = np.broadcast_to(
            np.asarray(intercept, dtype=np.float64).ravel(), (n_outputs,)
        )
        if self._center.shape[0]:
            intercept = intercept + coef @ self._center
        params[n_features * n_outputs :] = intercept
        return params

    def _dense_coef(self):
        """Return ``coef_`` as an array, also after :meth:`sparsify`."""
        return self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_

    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix.

        Worth it when most coefficients are zero (an L1 penalty), as
        ``SGDClassifier.sparsify``. Predictions are unchanged, and a later
        ``fit`` or ``partial_fit`` continues from the coefficients.

        Returns
        -------
        self : estimator
            The estimator, with a sparse ``coef_``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_gd import GDRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = GDRegressor(penalty="l1", alpha=1.0).fit(X, y).sparsify()
        >>> model.coef_.format, model.coef_.nnz < X.shape[1]
        ('csr', True)
        """
        check_is_fitted(self)
        if not sp.issparse(self.coef_):
            self.coef_ = sp.csr_matrix(np.atleast_2d(self.coef_))
        return self

    def densify(self):
        """Store ``coef_`` as a numpy array again (the default).

        Returns
        -------
        self : estimator
            The estimator, with a dense ``coef_``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn_gd import GDRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = GDRegressor().fit(X, y).sparsify().densify()
        >>> type(model.coef_).__name__, model.coef_.shape
        ('ndarray', (10,))
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = self._shape_coef(self.coef_.toarray())
        return self

    def _public_coefficients(self, params, n_features, n_outputs):
        """Return ``(coef_, intercept_)`` of X itself from the flat ``params``."""
        n_coef = n_features * n_outputs
        coef = params[:n_coef].reshape(n_features, n_outputs).T.copy()
        intercept = params[n_coef:].copy()
        if self._center.shape[0]:
            intercept -= (coef @ self._center).astype(intercept.dtype)
        return self._shape_coef(coef), intercept

    def _unpack(self, params, n_features, n_outputs):
        self.coef_, self.intercept_ = self._public_coefficients(
            params, n_features, n_outputs
        )

    def _fitted_attributes(self, params, n_features, n_outputs):
        """Return a callable giving the public attributes of ``params``, for callbacks.

        Callbacks evaluate it only when they need a fitted copy of the
        estimator (``ScoringMonitor`` does, ``ProgressBar`` does not), and
        then within the hook's call (scikit-learn's ``CallbackContext``
        evaluates callable arguments at once), so ``params`` is read there,
        not copied: two copies an epoch cost 1 ms on 2^20 coefficients, for
        fits that mostly have no callback at all.
        """

        def attributes():
            coef, intercept = self._public_coefficients(params, n_features, n_outputs)
            return {"coef_": coef, "intercept_": intercept}

        return attributes

    def _conditioning(self, data):
        """Return ``(center, scale)`` of the descent for ``learning_rate="auto"``.

        The descent then runs, in effect, on the features ``(X - center) *
        scale`` of unit variance, whatever their units; the optimum is the
        same. ``center`` is the weighted mean of the features with an
        intercept (empty otherwise): a feature far from zero is then no
        longer nearly a copy of the intercept's column of ones. Sparse rows
        are conditioned only for full-batch fits in memory, whose passes
        centre them through the intercepts (``EpochKernel.loss_gradient``);
        mini-batch updates touch only the stored entries, and streams go on
        unconditioned (``_conditioned`` is False for sparse data). ``scale``
        is ``1 / sqrt(variance + l2)`` for each feature (the root mean square
        replaces the variance without centring), 1 for constant ones. A given
        learning rate keeps the textbook iterates.
        """
        n_features = data.X.shape[1]
        ones = np.ones(n_features)
        # A stream goes on from a conditioned fit only on dense blocks.
        self._conditioned = self.learning_rate == "auto" and not data.sparse
        # Full-batch passes over sparse rows centre them in effect, through the
        # intercept (EpochKernel.loss_gradient); per-row updates cannot.
        sparse_full_batch = (
            data.sparse and data.full_batch and isinstance(data, InMemoryRows)
        )
        if not (
            self._conditioned or (self.learning_rate == "auto" and sparse_full_batch)
        ):
            return np.zeros(0), ones

        def moments(X, weights):
            if sp.issparse(X):
                squares = X.multiply(X)
                return np.concatenate([X.T @ weights, squares.T @ weights])
            return np.concatenate(weighted_moments(X, weights))

        sums = data.reduce(moments, sum) / data.n_rows
        mean, second = sums[:n_features], sums[n_features:]
        center = np.zeros(0)
        variance = second
        if self.fit_intercept:
            center = mean
            variance = np.maximum(second - center**2, 0.0)
        # The Jacobi preconditioner: the inverse diagonal of the objective's
        # Hessian, variance + l2 (without l2 a feature in tiny units would get
        # a step far beyond what its penalty's curvature allows).
        l2, _ = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        varies = variance > 1e-10 * second
        diagonal = np.where(varies, variance + l2, 1.0)
        if self._is_wide(data):
            # Wide data: plain gradient steps from zero stay in the row space
            # of X, where the L2 optimum lies; a per-feature scale would leak
            # them into the null space, which only alpha pulls back (a 50 x
            # 5000 ridge at alpha=1e-4 ended 3e-2 above its optimum after
            # 3,000 epochs, and reached 1e-4 in 165 with one common scale).
            diagonal = np.full(n_features, diagonal.mean())
        return center, 1.0 / np.sqrt(diagonal)

    @staticmethod
    def _is_wide(data):
        """Whether the training rows span fewer dimensions than there are features.

        Counted in distinct rows, so that repeating a row and weighting it
        give the same conditioning (scikit-learn's sample-weight check
        repeats 15 rows of 30 features into about 30); the distinct rows of
        an in-memory X are counted only where there are few enough to be
        cheap and to matter.
        """
        n_features = data.X.shape[1]
        if data.n_rows < n_features:
            return True
        if not isinstance(data, InMemoryRows) or data.n_rows > 20 * n_features:
            return False
        rows = data.X[data.rows]
        if sp.issparse(rows):
            return False
        return np.unique(rows, axis=0).shape[0] < n_features

    def _shape_coef(self, coef):
        return coef

    def _lazy(self, X, function, n_columns, dtype):
        """Return ``function`` of the validated rows of the dask ``X``, lazily."""
        check_is_fitted(self)
        X = dask_features(self, X, reset=False)
        return map_rows(function, X, n_columns, dtype)

    # -- fit / partial_fit ----------------------------------------------------------

    def _starting_point(self, data, Y, sample_weight, init=None):
        """Return ``(params, state)`` to start from; reset the training record.

        ``init`` is ``(coef_init, intercept_init)`` given to ``fit``: they win.
        Else ``warm_start`` keeps the coefficients only; a fresh fit starts
        from zero coefficients and the best intercept for them. A
        ``partial_fit`` stream ends here (``sklearn_gd._streaming``).
        """
        n_features, n_outputs, dtype = data.X.shape[1], Y.shape[1], data.X.dtype
        coef_init, intercept_init = init if init is not None else (None, None)
        reuse_coef = self.warm_start and hasattr(self, "coef_") and coef_init is None
        if reuse_coef and np.size(self._dense_coef()) != n_features * n_outputs:
            raise ValueError(
                f"The fitted coef_ has {np.size(self._dense_coef())} values but X "
                f"has {n_features} features and the targets {n_outputs} outputs; "
                "set warm_start=False to fit from scratch."
            )
        coef_init, intercept_init = self._check_init(
            coef_init, intercept_init, n_features, n_outputs
        )
        self._center, self._feature_scale = self._conditioning(data)
        self._fit_rows, self._fit_weight_sum = data.n_rows, data.weight_sum
        self._fit_full = data.full_batch
        self._stream = None
        if reuse_coef:
            params = self._pack(n_features, n_outputs, dtype)
        else:
            coef = np.zeros((n_outputs, n_features)) if coef_init is None else coef_init
            intercept = np.zeros(n_outputs)
            if intercept_init is not None:
                intercept = intercept_init
            elif self.fit_intercept and coef_init is None:
                intercept = self._initial_intercept(Y, sample_weight)
            elif self.fit_intercept and self.warm_start and hasattr(self, "coef_"):
                intercept = self.intercept_  # as SGD's warm start keeps it
            params = self._params_of(coef, intercept, n_features, n_outputs, dtype)
        self._solver_state = init_solver_state(
            params.shape[0], dtype, self._step_solver
        )
        self.t_ = 0
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.lr_curve_ = []
        self._rules = EpochRules(self.tol, self.n_iter_no_change)
        self._averaging = None  # a RunningAverage while ``average`` is set
        self._schedule = resolve_schedule(self._schedule_choice(data))
        return params, self._solver_state

    def _check_init(self, coef_init, intercept_init, n_features, n_outputs):
        """Return ``coef_init`` of shape (outputs, features) and ``intercept_init``."""
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            shapes = [(n_outputs, n_features)]
            if n_outputs == 1:
                shapes.append((n_features,))
            if coef_init.shape not in shapes:
                raise ValueError(
                    f"coef_init has shape {coef_init.shape}, but this fit needs "
                    f"coefficients of shape {shapes[0]} (the shape of coef_)."
                )
            coef_init = coef_init.reshape(n_outputs, n_features)
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64).ravel()
            if intercept_init.shape[0] != n_outputs:
                raise ValueError(
                    f"intercept_init has {intercept_init.shape[0]} values, but this "
                    f"fit needs {n_outputs} (the shape of intercept_)."
                )
            if not self.fit_intercept and np.any(intercept_init):
                raise ValueError(
                    "intercept_init is given but fit_intercept=False; drop it or "
                    "set fit_intercept=True."
                )
        given = {"coef_init": coef_init, "intercept_init": intercept_init}
        for name, value in given.items():
            if value is not None and not np.all(np.isfinite(value)):
                raise ValueError(f"{name} has NaN or infinite values.")
        return coef_init, intercept_init

    def _schedule_choice(self, data):
        """Return the schedule to resolve: ``"auto"`` depends on the batch size.

        Full batch keeps a constant rate: its objective is exact, and the
        backtracking of ``sklearn_gd._rules`` handles overshoot. Mini-batches
        with a constant rate stall at a noise floor that ``tol`` mistakes for
        convergence, so they divide the rate at each plateau instead (on the
        test suite's awkward data sets: up to 4% of the way from the optimum
        back to the intercept-only model left, against 55%; see the user
        guide).
        """
        if isinstance(self.schedule, str) and self.schedule == "auto":
            # SAGA converges at a constant rate.
            constant = data.full_batch or self.solver_ == "saga"
            return "constant" if constant else "adaptive"
        return self.schedule

    def _data_source(self, X, Y, sample_weight, rng, incremental, weight_unit=None):
        """Return the training rows: on the dask workers, in chunks, or in memory.

        See ``sklearn_gd._dask_rows`` and ``sklearn_gd._data``; a memory-mapped
        block given to ``partial_fit`` is read in place without being chunked.
        An in-memory X whose shuffled copy would not fit
        (``_data.copy_fits``) is read in chunks too.
        ``weight_unit``: the stream's mean weight (``partial_fit``).
        """
        n_rows = int(np.count_nonzero(sample_weight > 0))
        batch_size = self._resolve_batch_size(n_rows, incremental)
        n_threads = effective_n_jobs(self.n_jobs)
        if is_dask_collection(X):
            return DaskRows(
                X, Y, sample_weight, batch_size, self.shuffle, n_threads, weight_unit,
                rng,
            )  # fmt: skip
        # A shuffled copy of X that would not fit: read X in place, in chunks.
        no_room = (
            not incremental
            and not sp.issparse(X)
            and self.shuffle
            and batch_size < n_rows
            and not copy_fits(X)
        )
        if no_room or (not incremental and is_memory_mapped(X)):
            return ChunkedRows(
                X, Y, sample_weight, batch_size, self.shuffle, n_threads, weight_unit
            )
        return InMemoryRows(
            X, Y, sample_weight, batch_size, self.shuffle, rng, incremental,
            n_threads, weight_unit,
        )  # fmt: skip

    def _exact_intercept(self):
        """Whether ``fit`` sets the intercept in closed form instead of descending.

        With centred features and the squared error, the intercept of the
        centred data that minimises the objective is the weighted mean of the
        targets, whatever the coefficients: its gradient is the mean residual,
        to which the centred features contribute nothing. ``fit`` starts
        there and leaves it out of the descent. Descending on it would gain
        nothing, and the adaptive solvers would divide its gradient, zero up
        to rounding, by a running root mean square as small, and take steps
        of the learning rate's size from the rounding. (``partial_fit``
        descends on the intercept: no block is the data set.)
        """
        return (
            self.fit_intercept
            and self.loss == "squared_error"
            and self._center.shape[0] > 0
        )

    def _kernel(self, data, l2, l1, n_outputs, train_intercept, smoothing=None):
        """Return the epoch kernel with this fit's settings and conditioning.

        ``smoothing``: the width of the loss's smoothed relative to train on
        instead (see ``Loss.smoothed``).
        """
        dtype = data.X.dtype
        n_coef = data.X.shape[1] * n_outputs
        precond = np.ones(n_coef + n_outputs, dtype=dtype)
        # Plain gradient steps on features scaled by ``scale`` are steps scaled
        # by scale**2 in the original coefficients; the adaptive solvers'
        # normalised steps only take the scale itself.
        power = 2 if self._step_solver in ("sgd", "nesterov") else 1
        if not _all_ones(self._feature_scale):
            precond[:n_coef] = np.repeat(self._feature_scale**power, n_outputs)
        loss_code, epsilon = LOSSES[self.loss].code, self.epsilon
        # SAGA's steps are plain: its memory, not momentum, removes the noise.
        momentum = 0.0 if self.solver_ == "saga" else self.momentum
        if smoothing is not None:
            loss_code, epsilon = LOSSES[self.loss].smoothed, smoothing
        settings = (
            train_intercept, loss_code, self._is_multinomial, epsilon,
            SOLVERS[self._step_solver], momentum, self.beta_2, l2, l1,
        )  # fmt: skip
        return EpochKernel(settings, self._center.astype(dtype), precond, n_outputs)

    def _resolve_learning_rate(self, data, kernel, params, l2, rng):
        """Return ``learning_rate_``: the given float, or the "auto" step."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        n_features = data.X.shape[1]
        center = self._center if self._center.shape[0] else np.zeros(n_features)

        def initial_gradient():
            # In the coordinates of the descent: the adaptive solvers, which
            # ask for it, precondition by the scale itself.
            _, gradient_sum = data.loss_gradient(kernel, params)
            return kernel.precond * kernel.gradient(gradient_sum, data.n_rows, params)

        return auto_learning_rate(
            data,
            curvature=self._curvature(),
            solver="saga" if self.solver_ == "saga" else self._step_solver,
            momentum=self.momentum,
            fit_intercept=self.fit_intercept,
            l2=l2,
            initial_gradient=initial_gradient,
            rng=rng,
            center=center,
            scale=self._feature_scale,
        )

    def _training_rows(self, X, y, sample_weight, rng, incremental):
        """Return ``(Y, sample_weight, validation)`` for training.

        ``Y`` is the encoded target matrix and ``sample_weight`` includes the
        class weights. With ``early_stopping``, ``validation`` holds the
        held-out ``(X, y, sample_weight)`` and those rows get a zero training
        weight (X is not copied); else it is None.
        """
        class_weight = self._class_sample_weight(y)
        if class_weight is not None:
            sample_weight = sample_weight * class_weight
        if not np.any(sample_weight > 0):
            raise ValueError(
                "sample_weight is zero for every row; give at least one row a "
                "positive weight."
            )
        Y = self._encode_targets(y).astype(X.dtype, copy=False)
        if not self.early_stopping or incremental:
            return Y, sample_weight, None
        held_out = self._split_validation(y, sample_weight, rng)
        if is_dask_collection(X):
            # Kept where they fit, so each epoch does not read X again.
            X_held_out = keep_if_room(dask_rows_where(X, held_out))
        else:
            X_held_out = X[held_out]
        validation = (X_held_out, y[held_out], sample_weight[held_out])
        sample_weight = np.where(held_out, 0.0, sample_weight).astype(
            sample_weight.dtype
        )
        if not np.any(sample_weight > 0):
            raise ValueError(
                "Every row left for training after the early_stopping split has "
                "zero sample_weight; lower validation_fraction or set "
                "early_stopping=False."
            )
        return Y, sample_weight, validation

    def _fit(self, X, y, sample_weight, init=None):
        """Run the epoch loop of ``fit`` (``partial_fit``: ``_streaming``).

        ``init``: ``(coef_init, intercept_init)`` given to ``fit``.
        """
        n_epochs = self.max_iter
        callbacks = self._init_callback_context(max_subtasks=n_epochs)
        report = dict(
            X=X,
            y=y,
            metadata={"sample_weight": sample_weight},
        )
        callbacks.call_on_fit_task_begin(estimator=self, **report)
        # partial_fit after this fit keeps drawing from the same generator.
        self._rng = check_random_state(self.random_state)
        rng = self._rng

        Y, sample_weight, validation = self._training_rows(
            X, y, sample_weight, rng, incremental=False
        )
        n_features = X.shape[1]
        n_outputs = Y.shape[1]

        data = self._data_source(X, Y, sample_weight, rng, incremental=False)
        self.solver_ = self._resolve_solver(data, incremental=False)
        params, state = self._starting_point(data, Y, sample_weight, init)
        l2, l1 = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        exact_intercept = self._exact_intercept()
        if exact_intercept:
            n_coef = n_features * n_outputs
            params[n_coef:] = self._initial_intercept(Y, sample_weight)
        train_intercept = self.fit_intercept and not exact_intercept
        kernel = self._kernel(data, l2, l1, n_outputs, train_intercept)
        # The objective at the start, against which explosive growth is judged,
        # on at most 1024 evenly spread rows.
        initial_objective = data.objective(kernel, params, state, at_most=1024)
        self.learning_rate_ = self._resolve_learning_rate(data, kernel, params, l2, rng)
        # Nothing of a previous fit stays behind if this one fails.
        self.gap_estimate_, self.best_loss_ = np.nan, None
        tracking_best = validation is not None
        self.validation_scores_ = [] if tracking_best else None
        self.best_validation_score_ = -np.inf if tracking_best else None
        if tracking_best:
            best_params = params.copy()
        # Full-batch fits see the exact objective and gradient at the start of
        # every epoch, and stop on the estimate they give (_convergence).
        exact = data.full_batch
        judge = Judge(
            data,
            lambda width: self._kernel(
                data, l2, l1, n_outputs, train_intercept, smoothing=width
            ),
            kernel, n_features * n_outputs, l2, l1, train_intercept, LOSSES[self.loss],
            self.tol,
            smoothing=self.solver_ == "accelerated"
            and LOSSES[self.loss].smoothed is not None,
        )  # fmt: skip
        if self.solver_ == "saga" and not data.full_batch:
            data.remember_gradients(judge.kernel, params.shape[0])
        averaging = bool(self.average)
        if averaging:
            if self._averaging is None:
                # Averaging starts with the update that sees row ``average``.
                self._averaging = RunningAverage(params.shape[0], int(self.average))
            judge.kernel.average_iterates(self._averaging.vector, self._averaging.state)
        engine = None
        if self.solver_ == "accelerated":
            engine = self._accelerated(params, judge.kernel, train_intercept, l1)
        rules = self._rules
        stop_reason = f"max_iter={self.max_iter} reached"
        verified = None
        last_good = self._kept(None, params, state)
        try:
            for _ in range(n_epochs):
                epoch = self.n_iter_
                epoch_task = callbacks.subcontext(task_name="epoch")
                epoch_task.call_on_fit_task_begin(
                    estimator=self,
                    reconstruction_attributes=self._fitted_attributes(
                        self._returned(params), n_features, n_outputs
                    ),
                    **report,
                )
                learning_rates = self._learning_rates(epoch, data.n_batches)
                started = time.perf_counter()
                start = last_good[0]
                kernel = judge.kernel
                adam_t = self.t_ - rules.moment_origin
                if engine is not None:
                    objective, gradient = data.objective_and_gradient(kernel, params)
                    finite, n_updates = bool(np.isfinite(objective)), 1
                    if finite:
                        multiplier = learning_rates[0] / self.learning_rate_
                        params[:] = engine.step(objective, gradient, multiplier)
                elif exact:
                    objective, gradient = data.full_batch_epoch(
                        kernel, learning_rates, params, state, adam_t
                    )
                    finite, n_updates = bool(np.isfinite(objective)), 1
                else:
                    objective, n_updates, finite = data.epoch(
                        kernel, learning_rates, params, state, adam_t, rng
                    )
                exploded = objective > 1e4 * (abs(initial_objective) + 1.0)
                if exploded or not (finite and np.isfinite(params).all()):
                    self._restore(last_good, params, state)
                    self._store(params, state, n_features, n_outputs)
                    raise DivergenceError(self._divergence_message(epoch, objective))
                if exact:
                    judge.observe(objective, gradient, start)
                if engine is None:
                    rules.after_epoch(
                        objective, params, state, start,
                        self.loss_curve_[-1] if self.loss_curve_ else None,
                        full=data.full_batch, solver=self._solver_traits,
                    )  # fmt: skip
                last_good = self._kept(last_good, params, state, fresh=exact)
                self._record_epoch(objective, n_updates, learning_rates[0], started)
                callback_stop = epoch_task.call_on_fit_task_end(
                    estimator=self,
                    reconstruction_attributes=self._fitted_attributes(
                        self._returned(params), n_features, n_outputs
                    ),
                    **report,
                )
                if callback_stop:
                    stop_reason = "stopped by a callback"
                    break
                if tracking_best:
                    self._store(self._returned(params), state, n_features, n_outputs)
                    score = self._validation_score(*validation)
                    self.validation_scores_.append(float(score))
                    # Ties go to the later coefficients, which trained longer.
                    if score >= self.best_validation_score_:
                        best_params = self._returned(params).copy()
                    self.best_validation_score_ = max(
                        self.best_validation_score_, score
                    )
                    if self._plateau(-score, relative=False):
                        stop_reason = None
                        break
                elif exact and judge.bound.certified and not averaging:
                    verified = judge.check(objective, gradient, start, state, engine)
                    if verified is not None:
                        # Return the point that was judged, not the step after.
                        params[:] = start
                        stop_reason = None
                        break
                elif self.solver_ == "saga" and judge.bound.certified and not averaging:
                    verified = judge.check_mini_batches(
                        objective, partial(self._saga_gradient, kernel, params, l2),
                        params, state,
                    )  # fmt: skip
                    if verified is not None:
                        stop_reason = None
                        break
                    # SAGA stops on its estimate; a plateau only divides the
                    # rate where the schedule says so.
                    if isinstance(self._schedule, Adaptive) and self._plateau(
                        objective, relative=True
                    ):
                        stop_reason = "the learning rate fell below min_factor"
                        break
                elif self._plateau(objective, relative=True):
                    stop_reason = "the objective stopped improving by tol"
                    break
        except KeyboardInterrupt:
            warnings.warn(
                f"Training was interrupted at epoch {self.n_iter_ + 1}; the "
                "estimator keeps the coefficients of the last finished epoch.",
                UserWarning,
                stacklevel=3,
            )
            self._restore(last_good, params, state)
            stop_reason = "interrupted"
        # With averaging the descent goes on from its iterate and the model is
        # the average; without, nothing of an earlier averaging is kept.
        if averaging:
            self._averaging.iterate = params.copy()
        else:
            self._averaging = None
        if tracking_best:
            params[:] = best_params
        elif averaging:
            params[:] = self._returned(params)
        self.best_loss_ = None if tracking_best else float(rules.best_loss)
        self.gap_estimate_ = np.nan
        if verified is not None:
            self.best_loss_, self.gap_estimate_ = verified
        elif not tracking_best:
            self.best_loss_, self.gap_estimate_ = judge.final(
                params, state, full_batch=exact and not averaging
            )
        self._store(params, state, n_features, n_outputs)
        callbacks.call_on_fit_task_end(
            estimator=self, reconstruction_attributes={}, **report
        )
        if self._warns(stop_reason, tracking_best):
            warnings.warn(
                convergence_message(
                    self.gap_estimate_, self.tol, stop_reason, exact, self.solver_
                ),
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _record_epoch(self, objective, n_updates, rate, started, name="Epoch"):
        """Count an epoch (a ``partial_fit`` call: a block) in the training record."""
        self.t_ += int(n_updates)
        self.n_iter_ += 1
        self.loss_curve_.append(float(objective))
        self.lr_curve_.append(float(rate))
        if self.verbose:
            print(
                f"-- {name} {self.n_iter_}: loss {objective:.6g}, learning rate "
                f"{rate:.3g}, updates {self.t_}, "
                f"{time.perf_counter() - started:.3g} s"
            )

    def _accelerated(self, params, kernel, train_intercept, l1):
        """Return the full-batch iteration of ``solver_="accelerated"``."""
        n_coef = params.shape[0] - kernel.n_outputs
        active = np.arange(params.shape[0]) < (
            params.shape[0] if train_intercept else n_coef
        )
        # The step follows the measured curvature only where the loss's
        # curvature bound is loose (sklearn_gd._accelerated).
        adapt = self.learning_rate == "auto" and LOSSES[self.loss].loose_curvature
        return AcceleratedGradient(
            params, self.learning_rate_, kernel.precond, n_coef, l1, active, adapt
        )

    def _average_snapshot(self):
        """Return a snapshot of the running average, or None without one."""
        return None if self._averaging is None else self._averaging.snapshot()

    def _kept(self, last_good, params, state, *, fresh=True):
        """Return the last good point: copies of ``params``, ``state``, the average.

        Full-batch rules keep the start of an epoch as their best point, so
        they get fresh copies (``fresh``); mini-batches copy into the arrays
        of ``last_good``: a fresh copy of 2^20 coefficients every epoch cost
        more than a per-sample epoch over 4,000 sparse rows. Steps without
        momentum (SAGA's, plain SGD's) write a state they never read: it is
        not kept (None), and a return to the point zeroes it.
        """
        average = self._average_snapshot()
        stateless = self._step_solver == "sgd" and (
            self.solver_ == "saga" or self.momentum == 0.0
        )
        if fresh or last_good is None:
            return params.copy(), None if stateless else state.copy(), average
        np.copyto(last_good[0], params)
        if last_good[1] is not None:
            np.copyto(last_good[1], state)
        return last_good[0], last_good[1], average

    def _restore(self, last_good, params, state):
        """Return ``params``, ``state`` and the average to ``last_good``, in place."""
        params[:], saved_state, average = last_good
        state[:] = 0.0 if saved_state is None else saved_state
        if average is not None:
            self._averaging.restore(average)

    def _returned(self, params):
        """Return the coefficients a fit gives: ``params``, or their average."""
        if self.average and self._averaging is not None:
            return self._averaging.returned(params)
        return params

    @staticmethod
    def _saga_gradient(kernel, params, l2):
        """Return SAGA's estimate of the full gradient: its stored mean, and l2."""
        gradient = kernel.table_mean.copy()
        n_coef = params.shape[0] - kernel.n_outputs
        gradient[:n_coef] += l2 * params[:n_coef]
        return gradient

    @property
    def _solver_traits(self):
        return SolverTraits(
            self._step_solver, self.momentum, LOSSES[self.loss].minimised_at_zero,
            self.t_,
        )  # fmt: skip

    def _plateau(self, monitored, *, relative):
        """Return True when training should end on a plateau of ``monitored``.

        With the 'adaptive' schedule a plateau divides the rate instead, and
        training ends once the rate has fallen below its ``min_factor``.
        """
        if not self._rules.plateaued(monitored, relative=relative):
            return False
        if isinstance(self._schedule, Adaptive):
            self._rules.rate_factor /= self._schedule.factor
            if self.verbose:
                print(f"Learning rate divided by {self._schedule.factor}")
            return self._rules.rate_factor < self._schedule.min_factor
        return True

    def _warns(self, stop_reason, tracking_best):
        """Whether a fit ended short of ``tol``: its estimate says so, or max_iter."""
        if self.tol is None:
            return False
        if tracking_best:
            return stop_reason is not None and stop_reason.startswith("max_iter")
        if np.isnan(self.gap_estimate_):
            return stop_reason is not None and stop_reason.startswith("max_iter")
        return self.gap_estimate_ > self.tol

    def _store(self, params, state, n_features, n_outputs):
        self._unpack(params, n_features, n_outputs)
        self._solver_state = state

    def _learning_rates(self, epoch, n_batches):
        steps = self.t_ + np.arange(n_batches)
        epochs = epoch + np.arange(n_batches) / n_batches
        multipliers = self._schedule.multipliers(steps, epochs, self.max_iter)
        rates = self.learning_rate_ * self._rules.rate_factor * multipliers
        return np.ascontiguousarray(rates, dtype=np.float64)

    def _divergence_message(self, epoch, objective):
        rate = self.learning_rate_ * self._rules.rate_factor
        advice = f"a learning_rate below {rate / 10:.3g}"
        if self.learning_rate != "auto":
            advice = f"learning_rate='auto' or {advice}"
        return (
            f"The loss diverged (reached {objective!r}) at epoch {epoch + 1} with "
            f"learning_rate_={rate:.3g} and solver={self.solver_!r}. The coefficients "
            f"of epoch {epoch} are kept. Try {advice}, or scale the features "
            "(e.g. with StandardScaler)."
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
