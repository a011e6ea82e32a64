"""What ``partial_fit`` carries from one block of a stream to the next.

A block handed to ``partial_fit`` is a sample of the stream, never the data
set: nothing about it says how large the data set is, whether the next
block looks like it, or whether the stream passes over the same rows again.
:class:`Stream` keeps what the stream has shown so far and derives from it
what a fit derives from the data set:

* **Weights.** Rows are weighed against the stream's running mean weight,
  not against their own block's: a block of weight 10 pulls ten times as
  hard as one of weight 1, and scaling every weight of the stream by ``c``
  changes nothing (the same rule a fit follows within its data).
* **Conditioning** (``learning_rate="auto"``, dense data). The centre is the
  stream's running mean of the features (the intercept is re-expressed when
  it moves, so the model is unchanged). Each feature's scale divides its
  step by ``sqrt(d_j)``, where ``d_j`` is the largest of the feature's
  running variance and its second moment about the centre in any block so
  far, plus the L2 part of the penalty. ``d_j`` only grows: a feature nearly
  constant in the first block gets a long step there, and its first block
  that varies shortens the step before any update uses it.
* **Learning rate** (``learning_rate="auto"``). The step is ``(1 -
  momentum) / L``, where ``L`` is the largest expected mini-batch
  smoothness of any block so far (``sklearn_gd._learning_rate``), each
  computed with the conditioning in force for that block. It too can only
  get safer.
* **Batch size.** ``batch_size="auto"`` is the critical batch size
  ``L_max / L_full`` of the first block (:func:`critical_batch_size`).
* **Schedule.** The update count goes on across calls. With the
  'adaptive' schedule (the default for streams) the rate is divided when the
  running loss stops falling. The running loss is the mean, over a window
  of at least ``WINDOW_ROWS`` rows, ``WINDOW_CALLS`` calls and
  ``WINDOW_SHARE`` of the rows seen, of the loss each batch had before its
  update (a progressive, held-out-like estimate). A plateau is when the
  mean of the last ``n_iter_no_change`` windows is no lower (by ``tol``,
  relative) than that of the ``n_iter_no_change`` before them. That test
  alone divides too often: once a stream sits at its noise floor, the gain
  of a lower floor is smaller than the noise, and the rate collapsed within
  a pass. So the levels of the rate also grow geometrically, as in Epoch-GD
  (Hazan and Kale, 2014): the first level ends at its first plateau, and
  each later one lasts at least ``factor`` times as many updates as the one
  before, starting from the updates the first level took to settle (the
  first run of ``n_iter_no_change`` windows whose mean is within two
  standard errors of its plateau). The rate then falls like ``1 / t``.
* **After a fit** the stream counts the fit's rows as its first block and
  keeps no velocity. If the fit converged and the first block agrees with
  it (the block's mean gradient is within noise of zero), the rate starts
  at the value whose noise keeps the model within ``tol`` of the optimum
  (:meth:`StreamTraining._settling_factor`); a running loss above the fit's
  objective (by ``4 tol`` and three standard errors) restores the full
  rate, since the stream's rows are not the fit's.
* **Divergence** is judged against the best window's running loss, and a
  stream that diverges returns to the coefficients of that window.

References: E. Hazan and S. Kale, "Beyond the regret minimization barrier:
optimal algorithms for stochastic strongly-convex optimization", JMLR 15
(2014). S. McCandlish, J. Kaplan, D. Amodei et al., "An empirical model of
large-batch training", arXiv:1812.06162 (2018).
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._data import EpochKernel, InMemoryRows
from ._kernels import weighted_moments
from ._learning_rate import (
    ADAPTIVE_FACTOR,
    FULL_BATCH_BOLDNESS,
    batch_smoothness,
    smoothness_constants,
)
from ._penalties import penalty_strengths
from ._rules import DivergenceError, EpochRules, RunningAverage
from ._schedules import Adaptive, resolve_schedule
from ._solvers import init_solver_state

# The fewest rows and calls of a window of the running loss: short windows
# let the first level end soon after it settles (with 500 rows a window,
# per-sample streams sat at their first floor for five passes); the test
# weighs their noise.
WINDOW_ROWS = 100
WINDOW_CALLS = 1
# ... and the share of the stream's rows a window grows to: the test then
# compares the last tenth of the stream with the tenth before, which sees
# slow progress that windows of one block hide in their noise.
WINDOW_SHARE = 0.01
# A mean of windows within this many standard errors of a plateau is on it.
NOISE_MULTIPLE = 2.0
# A call whose running loss exceeds the best window's by this factor diverged.
DIVERGENCE_FACTOR = 1e4
# The largest batch of batch_size="auto" in a stream.
AUTO_BATCH_SIZE = 256
# The most rows of a block whose spectrum a call estimates.
SPECTRUM_ROWS = 2_000


def recentre(params, old_center, new_center, n_outputs):
    """Re-express the intercepts of ``params`` for a new centre, in place.

    The kernels see ``x - center``, whose intercept is ``b + center @ w``;
    the model stays the same function of ``x``.
    """
    n_coef = params.shape[0] - n_outputs
    coef = params[:n_coef].astype(np.float64).reshape(-1, n_outputs)
    shift = (new_center - old_center) @ coef
    params[n_coef:] += shift.astype(params.dtype)


def critical_batch_size(l_full, l_max):
    """Return the rows per update of ``batch_size="auto"`` in a stream.

    ``L_b = L_full + (L_max - L_full) / b`` for batches of ``b`` rows of a
    large data set: below ``b = L_max / L_full`` a batch half as large takes
    steps nearly twice as long, so each row does about as much; above it, a
    larger batch barely lengthens the step and each row does less (the
    "critical batch size" of McCandlish et al., 2018). Between 1 and
    ``AUTO_BATCH_SIZE``.
    """
    if not (l_full > 0.0 and np.isfinite(l_max)):
        return AUTO_BATCH_SIZE
    return int(np.clip(np.ceil(l_max / l_full), 1, AUTO_BATCH_SIZE))


def recentre_gradient(buffer, old_center, new_center, n_outputs):
    """Re-express a gradient-like ``buffer`` (momentum) for a new centre, in place.

    Gradients transform the other way round from the parameters: with the
    centred intercept ``b + center @ w`` held fixed, the gradient of the
    coefficients loses ``(new - old) * d/db``.
    """
    n_coef = buffer.shape[0] - n_outputs
    intercept = buffer[n_coef:].astype(np.float64)
    shift = np.outer(new_center - old_center, intercept).ravel()
    buffer[:n_coef] -= shift.astype(buffer.dtype)


class Stream:
    """The statistics, step and running loss of one ``partial_fit`` stream.

    Parameters
    ----------
    n_features : int
        Columns of X.
    conditioned : bool
        Whether the descent is conditioned (``learning_rate="auto"`` on
        dense data): the stream keeps feature moments only then.
    centred : bool
        Whether the features are centred (conditioned, with an intercept).
    l2 : float
        The L2 part of the penalty, added to each feature's diagonal.
    """

    def __init__(self, n_features, *, conditioned, centred, l2):
        self.conditioned = conditioned
        self.centred = centred and conditioned
        self.l2 = l2
        self.weight_sum = 0.0
        self.n_rows = 0
        self.mean = np.zeros(n_features)
        self.spread = np.zeros(n_features)  # weighted sum of squared deviations
        self.diagonal = np.zeros(n_features)  # only grows
        self.smoothness = 0.0  # the largest L of any block; only grows
        self.l_full = 0.0
        self.largest_gradient = None  # the adaptive solvers' unit, fixed once
        self.batch_size = None  # batch_size="auto": set by the first block
        self.settle = False  # after a converged fit: start at a settling rate
        self.settled = False  # whether it did (record may undo it)
        self.fitted_loss = None  # the fit's objective, when it converged
        self.adaptive_rate = None  # the adaptive solvers' rate after a fit
        self.window = [0.0, 0, 0]  # rows * running loss, rows, calls
        self.history = []  # running loss of each closed window
        self.since_division = 0
        self.level_updates = 0  # updates at the current rate level
        self.shortest_level = 0  # updates the current level lasts at least
        self.level_history = []  # (running loss, updates) of this level's windows
        self.best = np.inf
        self.best_params = None  # (params, center) at the best window
        self.reference = None  # what a divergence is judged against

    @classmethod
    def after_fit(
        cls, n_features, *, conditioned, centred, l2, center, scale, rows, weight_sum
    ):
        """Start a stream from a fit's conditioning, on ``rows`` rows of ``weight_sum``.

        The fit's data counts as the stream's first block.
        """
        stream = cls(n_features, conditioned=conditioned, centred=centred, l2=l2)
        stream.weight_sum = float(weight_sum)
        stream.n_rows = int(rows)
        if stream.conditioned:
            stream.diagonal = 1.0 / scale**2
            stream.spread = np.maximum(stream.diagonal - l2, 0.0) * weight_sum
            if stream.centred:
                stream.mean = np.asarray(center, dtype=np.float64).copy()
        return stream

    # -- weights and conditioning ------------------------------------------------

    def add_weights(self, sample_weight):
        """Count a block's positive weights; return the stream's mean weight.

        ``sample_weight`` holds the block's raw weights (class weights
        included). Called before :meth:`add_moments`.
        """
        positive = sample_weight > 0
        self._block_rows = int(np.count_nonzero(positive))
        self._block_weight = float(np.sum(sample_weight[positive], dtype=np.float64))
        self._previous = (self.weight_sum, self.n_rows)
        self.weight_sum += self._block_weight
        self.n_rows += self._block_rows
        return self.weight_sum / self.n_rows

    def block_mean_weight(self):
        """Return the last block's mean weight relative to the stream's."""
        block = self._block_weight / max(self._block_rows, 1)
        return block / (self.weight_sum / max(self.n_rows, 1))

    def add_moments(self, data, unit):
        """Merge a dense block's weighted moments; return ``(center, scale)``.

        ``data`` is the block's data source (``sklearn_gd._data``), whose
        weights are relative to ``unit``, the stream's mean weight (the sums
        are computed where the rows are: on the dask workers for a dask
        block). ``center`` is empty without centring; ``scale`` is ones
        without conditioning. See the module doc.
        """
        n_features = data.X.shape[1]
        if not self.conditioned:
            return np.zeros(0), np.ones(n_features)
        sums = data.reduce(
            lambda X, weights: np.concatenate(weighted_moments(X, weights)), sum
        )
        first, second = sums[:n_features] * unit, sums[n_features:] * unit
        weight = self._block_weight
        earlier = self._previous[0]
        total = earlier + weight
        block_mean = first / weight
        block_second = second / weight
        block_variance = np.maximum(block_second - block_mean**2, 0.0)
        if self.centred:
            delta = block_mean - self.mean
            self.mean = self.mean + delta * (weight / total)
            self.spread = (
                self.spread
                + block_variance * weight
                + delta**2 * earlier * weight / total
            )
            variance = self.spread / total
            about_center = block_variance + (block_mean - self.mean) ** 2
            candidate = np.maximum(variance, about_center)
            size = variance + self.mean**2
        else:
            # Without centring, the root mean square stands for the spread.
            self.spread = self.spread + second
            candidate = np.maximum(self.spread / total, block_second)
            size = candidate
        varies = candidate > 1e-10 * np.maximum(size, block_second)
        # Only growing, the scale settles: a scale that followed each block
        # would move the point the descent settles at, since a mean of
        # differently scaled gradients is zero elsewhere than their mean.
        candidate = np.where(varies, candidate + self.l2, 1.0)
        self.diagonal = np.maximum(self.diagonal, candidate)
        center = self.mean.copy() if self.centred else np.zeros(0)
        return center, 1.0 / np.sqrt(self.diagonal)

    def learning_rate(self, l_full, l_max, n_rows, batch_size, *, solver, momentum):
        """Return the stream's step after a block's smoothness constants.

        ``l_full`` and ``l_max`` are the block's (``sklearn_gd._learning_rate``)
        with the conditioning in force for it.
        """
        self.l_full = max(self.l_full, l_full)
        self.smoothness = max(
            self.smoothness, batch_smoothness(l_full, l_max, n_rows, batch_size)
        )
        if self.smoothness <= 0.0:
            return 1.0
        if solver in ADAPTIVE_FACTOR and self.adaptive_rate is not None:
            return self.adaptive_rate
        if solver in ADAPTIVE_FACTOR:
            factor = ADAPTIVE_FACTOR[solver]
            if solver == "rmsprop":
                factor *= 1.0 - momentum
            return factor * self.largest_gradient / self.l_full
        return (1.0 - momentum) / self.smoothness

    # -- running loss ---------------------------------------------------------------

    def diverged(self, objective):
        """Whether a call's running loss shows the stream diverging."""
        if not np.isfinite(objective):
            return True
        if self.reference is None:
            return False
        return objective > DIVERGENCE_FACTOR * (abs(self.reference) + 1.0)

    def record(
        self, objective, n_rows, n_updates, params, center, *, tol, n_iter_no_change,
        factor,
    ):  # fmt: skip
        """Add a call's running loss; return "divide", "restart" or None.

        "divide": the rate should be divided by ``factor`` (a plateau);
        "restart": a stream settled after a fit should return to its full
        rate (its running loss rose above the fit's objective).

        ``params`` and ``center`` are kept when the window closing here is the
        best so far (the point a divergence returns to). ``factor`` is the
        schedule's divisor: a level of the rate lasts at least ``factor``
        times as many updates as the level before it (module doc).
        """
        if self.reference is None:
            self.reference = float(objective)
        self.level_updates += n_updates
        window = self.window
        window[0] += float(objective) * n_rows
        window[1] += n_rows
        window[2] += 1
        rows = max(WINDOW_ROWS, WINDOW_SHARE * self.n_rows)
        if window[1] < rows or window[2] < WINDOW_CALLS:
            return None
        mean = window[0] / window[1]
        self.window = [0.0, 0, 0]
        self.history.append(mean)
        self.level_history.append((mean, self.level_updates))
        self.since_division += 1
        if mean <= self.best:
            self.best = mean
            self.reference = mean
            self.best_params = (params.copy(), np.array(center, dtype=np.float64))
        k = n_iter_no_change
        if self.settled and len(self.history) >= max(k, 2):
            # Every window since the fit against the fit's objective, three
            # standard errors apart: tested after every window, a shorter or
            # closer comparison sent streams on the fit's own data back to
            # the full rate by chance.
            # The settled rate itself keeps the running loss about ``tol``
            # above the optimum (the settling factor is set so), hence 4 tol.
            seen = np.array(self.history)
            noise = 3.0 * seen.std(ddof=1) / np.sqrt(seen.shape[0])
            margin = max(4.0 * (tol or 0.0) * abs(self.fitted_loss), noise)
            if seen.mean() > self.fitted_loss + margin:
                # The stream's rows are not the ones the fit converged on.
                self.settled = False
                self._new_level(0)
                self.history = []
                return "restart"
        if tol is None or self.since_division < k or len(self.history) < 2 * k:
            return None
        earlier = np.array(self.history[-2 * k : -k])
        later = np.array(self.history[-k:])
        # A plateau is no fall at all: dividing while the loss still falls
        # slowly under its noise stalls the stream for good, waiting at a
        # plateau only costs time.
        if earlier.mean() - later.mean() > tol * abs(earlier.mean()):
            return None
        if self.level_updates < self.shortest_level:
            return None
        if self.shortest_level == 0:
            # The first level: how long it took to settle, the updates up to
            # its first window within noise of the plateau (the test itself
            # needs ``2 * k`` windows to see one). Settling takes a time
            # inverse to the rate, so each later level lasts at least
            # ``factor`` times as long as the one before.
            # Judged on means of ``k`` windows, whose noise is the standard
            # error (a single window within two standard deviations of the
            # plateau is nearly any window).
            values = np.array([value for value, _ in self.level_history])
            band = NOISE_MULTIPLE * (later.std(ddof=1) / np.sqrt(k) if k > 1 else 0.0)
            runs = np.convolve(values, np.ones(k) / k, mode="valid")
            settled = np.flatnonzero(runs <= later.mean() + band)
            first = settled[0] if settled.size else len(self.level_history) - 1
            self.shortest_level = self.level_history[first][1]
        self._new_level(self.shortest_level * factor)
        return "divide"

    def _new_level(self, shortest):
        """Start a level of the rate that lasts at least ``shortest`` updates."""
        self.shortest_level = shortest
        self.since_division = 0
        self.level_updates = 0
        self.level_history = []


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
            params = self._begin_stream(X, Y, sample_weight, l2)
        self.solver_ = solver
        state = self._solver_state.astype(dtype, copy=False)
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
        try:
            objective, n_updates, finite = data.epoch(
                kernel, learning_rates, params, state,
                self.t_ - self._rules.moment_origin, rng,
            )  # fmt: skip
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
        exploded = objective > 1e4 * (abs(initial_objective) + 1.0)
        if (
            exploded
            or stream.diverged(objective)
            or not (finite and np.isfinite(params).all())
        ):
            self._restore(last_good, params, state)
            if stream.best_params is not None:
                best, best_center = stream.best_params
                params[:] = best
                recentre(params, best_center, center, n_outputs)
                state[:] = 0.0
            self._store(self._returned(params), state, n_features, n_outputs)
            raise DivergenceError(self._stream_divergence_message(objective))
        self.t_ += int(n_updates)
        self.n_iter_ += 1
        self.loss_curve_.append(float(objective))
        self.lr_curve_.append(float(learning_rates[0]))
        if self.verbose:
            print(
                f"-- Block {self.n_iter_}: running loss {objective:.6g}, learning "
                f"rate {learning_rates[0]:.3g}, updates {self.t_}, "
                f"{time.perf_counter() - started:.3g} s"
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

    def _begin_stream(self, X, Y, sample_weight, l2):
        """Open the stream; return the coefficients it starts from.

        After a ``fit`` the stream goes on from the fitted model and counts the
        fit's data as its first block, with no velocity of the fit's steps.
        Otherwise it starts from zero coefficients and intercepts from the
        first block's targets, shrunk towards even classes (one pseudo-row
        per class): a first block of a single class would otherwise start
        the intercept at the log-odds of 1e-12.
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
        self._solver_state = init_solver_state(params.shape[0], dtype)
        if fitted_state is not None and self._step_solver in ADAPTIVE_FACTOR:
            # No velocity of the fit's steps, but its second moments: a fresh
            # adaptive solver would take steps of the full rate at its optimum.
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
        probe = EpochKernel(kernel.settings, kernel.center, kernel.precond, n_outputs)
        probe.remember_gradients(data.X.shape[0], params.shape[0])
        rows = data.rows
        probe.run(
            data.X, data.Y, data.sample_weight, rows, 1, np.zeros(rows.shape[0]),
            params.copy(), init_solver_state(params.shape[0], params.dtype), 0,
        )  # fmt: skip
        slopes = probe.table[rows]  # (rows, outputs): each row's weighted derivative
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
        squares = np.asarray(X.multiply(X) if sp.issparse(X) else X**2)
        norms = squares @ coef_metric * slopes**2
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
        if np.size(self.coef_) != n_features * n_outputs:
            raise ValueError(
                f"The fitted coef_ has {np.size(self.coef_)} values but X has "
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
        """Return ``(L_full, L_max)`` of the block, in the stream's conditioning."""
        n_features = data.X.shape[1]
        center = self._center if self._center.shape[0] else np.zeros(n_features)
        return smoothness_constants(
            data,
            curvature=self._curvature(),
            fit_intercept=self.fit_intercept,
            l2=l2,
            rng=self._rng,
            center=center,
            scale=self._feature_scale,
            max_rows=SPECTRUM_ROWS,
            mean_weight=self._stream.block_mean_weight(),
        )

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
