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
  (``sklearn_gd._streaming``); a running loss above the fit's
  objective (by ``4 tol`` and three standard errors) restores the full
  rate, since the stream's rows are not the fit's.
* **Divergence** is judged against the best window's running loss, and a
  stream that diverges returns to the coefficients of that window.

References: E. Hazan and S. Kale, "Beyond the regret minimization barrier:
optimal algorithms for stochastic strongly-convex optimization", JMLR 15
(2014). S. McCandlish, J. Kaplan, D. Amodei et al., "An empirical model of
large-batch training", arXiv:1812.06162 (2018).
"""

import numpy as np

from ._kernels import weighted_moments
from ._learning_rate import ADAPTIVE_FACTOR, batch_smoothness

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
    the model stays the same function of ``x``. An empty centre is no
    centring (sparse rows), as zeros are.
    """
    if old_center.shape[0] == 0 and new_center.shape[0] == 0:
        return
    n_coef = params.shape[0] - n_outputs
    coef = params[:n_coef].astype(np.float64).reshape(-1, n_outputs)
    shift = _uncentred(new_center, coef) - _uncentred(old_center, coef)
    params[n_coef:] += shift.astype(params.dtype)


def _uncentred(center, coef):
    """Return ``center @ coef`` (zeros for an empty centre)."""
    if center.shape[0] == 0:
        return np.zeros(coef.shape[1])
    return center @ coef


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
        self.l_full = 0.0  # the largest spectral estimate of any block
        self.l_max = 0.0  # the largest L_max of a block whose spectrum was taken
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
        # The just-in-time kernels' array on sparse blocks, kept between calls
        # (allocating 2^20 counts a call cost a fifth of its epoch); not pickled.
        self.workspace = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["workspace"] = None
        return state

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
            # The same ones every block (one vector of the columns' size).
            ones = getattr(self, "_ones", None)
            if ones is None or ones.shape[0] != n_features:
                ones = self._ones = np.ones(n_features)
            return np.zeros(0), ones
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
