"""``partial_fit``: one epoch over a block of a stream.

The rules a stream follows, and the state it keeps between calls, are in
:mod:`sklearn_gd._stream_state`; this module runs a block through them.
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._data import InMemoryRows
from ._learning_rate import (
    ADAPTIVE_FACTOR,
    FULL_BATCH_BOLDNESS,
    smoothness_constants,
)
from ._penalties import penalty_strengths
from ._rules import DivergenceError, EpochRules, RunningAverage
from ._schedules import Adaptive, resolve_schedule
from ._solvers import init_solver_state, state_rows
from ._stream_state import (
    DIVERGENCE_FACTOR,
    SPECTRUM_ROWS,
    Stream,
    critical_batch_size,
    recentre,
    recentre_gradient,
)


class StreamTraining:
    """``partial_fit``: one epoch over a block of a stream (mixed into BaseGD).

    Kept apart from ``fit``'s loop, which knows its data set: here every
    statistic comes from :class:`Stream`.
    """

    def _partial_fit(self, X, y, sample_weight):
        """Train one epoch on the block ``X, y``; see the module doc."""
        if self.early_stopping:
            raise ValueError(
                "early_stopping=True holds out a validation share of the data set, "
                "which partial_fit never sees whole; set early_stopping=False for "
                "partial_fit (scikit-learn's SGD estimators require the same) or "
                "train with fit."
            )
        callbacks = self._init_callback_context(max_subtasks=1)
        report = dict(X=X, y=y, metadata={"sample_weight": sample_weight})
        callbacks.call_on_fit_task_begin(estimator=self, **report)
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        rng = self._rng
        Y, sample_weight, _ = self._training_rows(
            X, y, sample_weight, rng, incremental=True
        )
        n_features, n_outputs, dtype = X.shape[1], Y.shape[1], X.dtype
        l2, l1 = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        # Everything that can refuse the block before the stream counts it.
        solver = self._resolve_solver(None, incremental=True)
        stream = getattr(self, "_stream", None)
        if stream is not None:
            params = self._stream_params(n_features, n_outputs, dtype)
            if stream.conditioned and sp.issparse(X):
                raise ValueError(
                    "partial_fit got sparse X, but this model centres and scales "
                    "its features (learning_rate='auto' on the dense X it was "
                    "first trained on); pass X dense (X.toarray()), or train "
                    "with a float learning_rate from the start."
                )
        else:
            params = self._begin_stream(X, Y, sample_weight, l2, solver)
        self.solver_ = solver
        state = self._solver_state.astype(dtype, copy=False)
        if state.shape[0] < state_rows(self._step_solver):
            # A solver that keeps a second moment after one that did not: a
            # fresh one, whose bias corrections count from here (counted from
            # the stream's start, they took the zero moments as estimates).
            state = np.vstack([np.zeros_like(state), np.zeros_like(state)])
            self._solver_state = state
            self._rules.moment_origin = self.t_
        stream = self._stream
        unit = stream.add_weights(sample_weight)
        data = self._data_source(X, Y, sample_weight, rng, True, weight_unit=unit)
        center, scale = stream.add_moments(data, unit)
        self._move_centre(params, state, center, n_outputs)
        self._center, self._feature_scale = center, scale
        kernel = self._kernel(data, l2, l1, n_outputs, self.fit_intercept)
        constants = None
        if self.learning_rate == "auto" or (
            self.batch_size == "auto" and stream.batch_size is None
        ):
            constants = self._block_smoothness(data, l2)
        if self.batch_size == "auto" and stream.batch_size is None:
            stream.batch_size = critical_batch_size(*constants)
            data = self._data_source(X, Y, sample_weight, rng, True, weight_unit=unit)
        self.learning_rate_ = self._stream_learning_rate(
            data, kernel, params, constants
        )
        # What an exploding call is judged against: the stream's best running
        # loss once it has one (a probe of the block's objective cost as much
        # as the call's epoch on 2^20 sparse columns), else the block's.
        initial_objective = stream.reference
        if initial_objective is None:
            initial_objective = data.objective(kernel, params, state, at_most=1024)
        if stream.settle:
            # After a fit that converged: a rate whose noise keeps it there.
            stream.settle = False
            self._rules.rate_factor = self._settling_factor(data, kernel, params, state)
            stream.settled = self._rules.rate_factor < 1.0
        # Attached after the probes above, which must not count as updates.
        if self.average:
            if self._averaging is None:
                self._averaging = RunningAverage(params.shape[0], int(self.average))
            kernel.average_iterates(self._averaging.vector, self._averaging.state)
        else:
            self._averaging = None
        last_good = (params.copy(), state.copy(), self._average_snapshot())
        epoch_task = callbacks.subcontext(task_name="epoch")
        epoch_task.call_on_fit_task_begin(
            estimator=self,
            reconstruction_attributes=self._fitted_attributes(
                self._returned(params), n_features, n_outputs
            ),
            **report,
        )
        learning_rates = self._learning_rates(self.n_iter_, data.n_batches)
        started = time.perf_counter()
        if sp.issparse(X):
            kernel.workspace = getattr(stream, "workspace", None)
        try:
            objective, n_updates, finite = data.epoch(
                kernel, learning_rates, params, state,
                self.t_ - self._rules.moment_origin, rng,
            )  # fmt: skip
            if sp.issparse(X):
                stream.workspace = kernel.workspace
        except KeyboardInterrupt:
            warnings.warn(
                "Training was interrupted; the estimator keeps the coefficients "
                "it had before this partial_fit call.",
                UserWarning,
                stacklevel=3,
            )
            self._restore(last_good, params, state)
            self._store(self._returned(params), state, n_features, n_outputs)
            return self
        # Against the stream's best running loss once there is one (above).
        exploded = objective > DIVERGENCE_FACTOR * (abs(initial_objective) + 1.0)
        if exploded or not (
            finite and np.isfinite(objective) and np.isfinite(params).all()
        ):
            self._restore(last_good, params, state)
            if stream.best_params is not None:
                best, best_center = stream.best_params
                params[:] = best
                recentre(params, best_center, center, n_outputs)
                state[:] = 0.0
            self._store(self._returned(params), state, n_features, n_outputs)
            raise DivergenceError(self._stream_divergence_message(objective))
        self._record_epoch(
            objective, n_updates, learning_rates[0], started, name="Block"
        )
        epoch_task.call_on_fit_task_end(
            estimator=self,
            reconstruction_attributes=self._fitted_attributes(
                self._returned(params), n_features, n_outputs
            ),
            **report,
        )
        adaptive = isinstance(self._schedule, Adaptive)
        change = stream.record(
            objective, data.n_rows, n_updates, params, center,
            tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            factor=self._schedule.factor if adaptive else 1.0,
        )  # fmt: skip
        if change == "restart":
            self._rules.rate_factor = 1.0
        elif change == "divide" and adaptive:
            # A stream has no end to stop at: the rate stays at its floor.
            factor = self._schedule.factor
            if self._rules.rate_factor / factor >= self._schedule.min_factor:
                self._rules.rate_factor /= factor
                if self.verbose:
                    print(f"Learning rate divided by {factor}")
        if self._averaging is not None:
            self._averaging.iterate = params.copy()
        self._store(self._returned(params), state, n_features, n_outputs)
        self.best_loss_ = float(min(stream.best, objective))
        self.gap_estimate_ = np.nan
        callbacks.call_on_fit_task_end(
            estimator=self, reconstruction_attributes={}, **report
        )
        return self

    def _begin_stream(self, X, Y, sample_weight, l2, solver):
        """Open the stream; return the coefficients it starts from.

        After a ``fit`` the stream goes on from the fitted model and counts the
        fit's data as its first block, with no velocity of the fit's steps.
        Otherwise it starts from zero coefficients and intercepts from the
        first block's targets, shrunk towards even classes (one pseudo-row
        per class): a first block of a single class would otherwise start
        the intercept at the log-odds of 1e-12. ``solver``: the stream's, whose
        state it starts.
        """
        n_features, n_outputs, dtype = X.shape[1], Y.shape[1], X.dtype
        fitted = hasattr(self, "coef_")
        if fitted:
            params = self._stream_params(n_features, n_outputs, dtype)
            converged = self.tol is not None and self.gap_estimate_ <= self.tol
            self._stream = Stream.after_fit(
                n_features,
                conditioned=self._conditioned,
                centred=self.fit_intercept,
                l2=l2,
                center=self._center,
                scale=self._feature_scale,
                rows=self._fit_rows,
                weight_sum=self._fit_weight_sum,
            )
            self._stream.settle = converged
            self._stream.fitted_loss = self.best_loss_
            if self._step_solver in ADAPTIVE_FACTOR:
                # Their rate is in the coefficients' units, not tied to the
                # data's curvature: the fit's, without its full-batch boldness.
                bold = FULL_BATCH_BOLDNESS[self._step_solver] if self._fit_full else 1
                self._stream.adaptive_rate = self.learning_rate_ / bold
        else:
            conditioned = self.learning_rate == "auto" and not sp.issparse(X)
            self._stream = Stream(
                n_features, conditioned=conditioned, centred=self.fit_intercept, l2=l2
            )
            self._center, self._feature_scale = np.zeros(0), np.ones(n_features)
            params = np.zeros(n_features * n_outputs + n_outputs, dtype=dtype)
            if self.fit_intercept:
                params[n_features * n_outputs :] = self._initial_intercept(
                    Y, sample_weight, pseudo_rows=True
                )
            self.t_ = 0
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.lr_curve_ = []
            self._averaging = None
        fitted_state = getattr(self, "_solver_state", None) if fitted else None
        self._solver_state = init_solver_state(params.shape[0], dtype, solver)
        if (
            fitted_state is not None
            and self._solver_state.shape[0] > 1
            and fitted_state.shape[0] > 1
        ):
            # No velocity of the fit's steps, but its second moments (when
            # both the fit and the stream keep them): a fresh adaptive solver
            # would take steps of the full rate at its optimum.
            self._solver_state[1] = fitted_state[1]
        self._rules = EpochRules(self.tol, self.n_iter_no_change)
        self._schedule = resolve_schedule(self._stream_schedule())
        self.validation_scores_ = None
        self.best_validation_score_ = None
        return params

    def _settling_factor(self, data, kernel, params, state):
        """Return the rate factor at which a converged fit stays within ``tol``.

        At a constant step ``eta`` (``learning_rate_``, over ``1 - momentum``
        where momentum sums gradients) and ``b`` rows a batch, a stochastic
        descent settles about ``eta * tr(P S) / (4 b)`` above the optimum,
        where ``S`` is the covariance of one row's gradient and ``P`` the
        descent's metric (the preconditioner, divided by the root of the
        second moments for the adaptive solvers): the stationary spread of
        SGD on a quadratic. The factor brings that excess down to ``tol``
        times the fit's objective. It applies only where the block agrees
        with the fit: when the mean of the block's gradients is within twice
        its standard error of zero. A block the fitted model does not fit
        (new data, another distribution) starts the stream at the full rate,
        and :meth:`Stream.record` undoes the factor when the running loss
        rises above the fit's.
        """
        if self.tol is None or not isinstance(data, InMemoryRows):
            return 1.0
        n_outputs = kernel.n_outputs
        n_coef = params.shape[0] - n_outputs
        rows = data.rows
        # (rows, outputs): each row's weighted loss derivative.
        slopes = kernel.row_derivatives(
            data.X, data.Y, data.sample_weight, rows, params
        )[rows]
        metric = kernel.precond.astype(np.float64)
        solver = self._step_solver
        step = self.learning_rate_
        if solver in ("adagrad", "rmsprop", "adam"):
            metric = metric / (np.sqrt(state[1].astype(np.float64)) + 1e-8)
        if solver in ("sgd", "nesterov") or (solver == "rmsprop" and self.momentum):
            step /= 1.0 - self.momentum
        X = data.X[rows]
        center = kernel.center if kernel.center.shape[0] else np.zeros(X.shape[1])
        if not sp.issparse(X):
            X = np.asarray(X, dtype=np.float64) - center
        elif center.any():
            X = X.toarray() - center
        coef_metric = metric[:n_coef].reshape(-1, n_outputs)
        n_rows = rows.shape[0]
        # Squared norms of the rows' gradients, and of their mean, in the metric.
        squares = X.multiply(X) if sp.issparse(X) else X**2
        norms = np.asarray(squares @ coef_metric) * slopes**2
        norms = norms.sum(axis=1) + (slopes**2 * metric[n_coef:]).sum(axis=1)
        mean_coef = np.asarray(X.T @ slopes) / n_rows
        mean_intercept = slopes.mean(axis=0)
        mean_norm = float(np.sum(coef_metric * mean_coef**2))
        mean_norm += float(np.sum(metric[n_coef:] * mean_intercept**2))
        spread = float(norms.mean()) - mean_norm
        if not (spread > 0.0 and step > 0.0) or mean_norm > 4.0 * spread / n_rows:
            return 1.0
        objective = self._stream.fitted_loss
        factor = 4.0 * data.batch_size * self.tol * abs(objective) / (step * spread)
        return float(np.clip(factor, self._schedule_floor(), 1.0))

    def _schedule_floor(self):
        """The smallest rate factor a stream divides down to."""
        if isinstance(self._schedule, Adaptive):
            return self._schedule.min_factor
        return 1e-6

    def _stream_schedule(self):
        """The schedule of a stream: "auto" divides the rate at each plateau."""
        if isinstance(self.schedule, str) and self.schedule == "auto":
            return "adaptive"
        return self.schedule

    def _stream_params(self, n_features, n_outputs, dtype):
        """Return the flat coefficients the next block descends from."""
        if np.size(self._dense_coef()) != n_features * n_outputs:
            raise ValueError(
                f"The fitted coef_ has {np.size(self._dense_coef())} values but X has "
                f"{n_features} features and the targets {n_outputs} outputs; pass "
                "blocks with the same columns and targets to every call."
            )
        averaged = getattr(self, "_averaging", None)
        if averaged is not None and averaged.iterate is not None:
            # coef_ is the average; the descent goes on from its own iterate.
            return averaged.iterate.astype(dtype)
        return self._pack(n_features, n_outputs, dtype)

    def _move_centre(self, params, state, center, n_outputs):
        """Re-express everything kept in centred coordinates for a new centre."""
        old = self._center
        if old.shape[0] == 0 and center.shape[0] == 0:
            return
        n_features = (params.shape[0] - n_outputs) // n_outputs
        old = old if old.shape[0] else np.zeros(n_features)
        new = center if center.shape[0] else np.zeros(n_features)
        recentre(params, old, new, n_outputs)
        # Momentum and Adam's first moment sum gradients (sklearn_gd._solvers);
        # second moments have no exact counterpart and are kept.
        recentre_gradient(state[0], old, new, n_outputs)
        if self._averaging is not None:
            recentre(self._averaging.vector, old, new, n_outputs)
            if self._averaging.iterate is not None:
                recentre(self._averaging.iterate, old, new, n_outputs)

    def _block_smoothness(self, data, l2):
        """Return ``(L_full, L_max)`` of the block, in the stream's conditioning.

        The spectrum (``L_full``, a few products over up to ``SPECTRUM_ROWS``
        rows) is estimated on the first block and again only when a block's
        ``L_max`` exceeds every earlier one by 10% (rows unlike those seen);
        otherwise the stream's largest estimate stands. On 2^20 columns the
        estimate cost more than the call's epoch.
        """
        stream = self._stream
        n_features = data.X.shape[1]
        center = self._center if self._center.shape[0] else np.zeros(n_features)
        settings = dict(
            curvature=self._curvature(),
            fit_intercept=self.fit_intercept,
            l2=l2,
            rng=self._rng,
            center=center,
            scale=self._feature_scale,
            max_rows=SPECTRUM_ROWS,
            mean_weight=stream.block_mean_weight(),
        )
        _, l_max = smoothness_constants(data, spectrum=False, **settings)
        if stream.l_full > 0.0 and l_max <= 1.1 * stream.l_max:
            return stream.l_full, l_max
        stream.l_max = max(stream.l_max, l_max)
        return smoothness_constants(data, l_max=l_max, **settings)

    def _stream_learning_rate(self, data, kernel, params, constants):
        """Return ``learning_rate_`` for a block: the given float, or the stream's.

        ``constants`` are the block's ``(L_full, L_max)``.
        """
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        stream = self._stream
        l_full, l_max = constants
        solver = self._step_solver
        if (
            solver in ADAPTIVE_FACTOR
            and stream.largest_gradient is None
            and stream.adaptive_rate is None
        ):
            _, gradient_sum = data.loss_gradient(kernel, params)
            gradient = kernel.precond * kernel.gradient(
                gradient_sum, data.n_rows, params
            )
            largest = float(np.max(np.abs(gradient), initial=0.0))
            stream.largest_gradient = (
                largest if largest > 0.0 and np.isfinite(largest) else 1.0
            )
        return stream.learning_rate(
            l_full, l_max, data.n_rows, data.batch_size,
            solver=solver, momentum=self.momentum,
        )  # fmt: skip

    def _stream_divergence_message(self, objective):
        rate = self.learning_rate_ * self._rules.rate_factor
        advice = f"a learning_rate below {rate / 10:.3g}"
        if self.learning_rate != "auto":
            advice = f"learning_rate='auto' or {advice}"
        return (
            f"The stream diverged: this block's loss reached {objective!r} "
            f"with learning_rate_={rate:.3g} and solver={self.solver_!r}. The "
            "coefficients of the lowest running loss so far are kept. Try "
            f"{advice}, or scale the features (e.g. with StandardScaler's "
            "partial_fit)."
        )
