"""Where the training rows live, and how an epoch walks them.

The training loop (``_base.py``) asks a data source for an epoch, for the
objective or gradient at some coefficients, and for the weighted sums the
automatic learning rate needs. Two sources answer:

* :class:`InMemoryRows`, for numpy arrays and CSR matrices: one kernel call
  per epoch over a shuffled copy of the rows (see :meth:`InMemoryRows.order`).
* :class:`ChunkedRows`, for a ``numpy.memmap`` or an array too large to
  copy: ``X`` is read in place in chunks. Full batch sums each chunk's loss
  gradient and takes the solver step; mini-batches stream the chunks in a
  random order, each shuffled in memory on its own.
* :class:`sklearn_gd._dask_rows.DaskRows`, for a dask array: everything
  runs on the workers, where the chunks live.

All hold the targets ``Y`` and the weights in memory (one value a row and
output) and see weights of mean 1 over the rows with a positive weight, the
only rows that train.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, _check_y, validate_data

from ._kernels import (
    _all_ones,
    _fold_into_average,
    block_order,
    largest_magnitude,
    run_epoch_csr,
    run_epoch_dense,
)
from ._lazy import workspace
from ._solvers import NESTEROV, SGD, solver_step

# Bytes of consecutive rows of the shuffled copy visited together, and the
# fewest rows and blocks (see InMemoryRows.order).
BLOCK_BYTES = 2**19
MIN_BLOCK_ROWS = 64
MIN_BLOCKS = 16
# Bytes of X a memory-mapped fit visits at a time (see ChunkedRows).
STREAM_BYTES = 16 * 2**20
# The share of the available memory a shuffled copy of X may take.
COPY_SHARE = 0.5
# Rows below which full batch runs on one thread whatever n_jobs says.
PARALLEL_ROWS = 10_000


def is_dask_collection(X):
    """Return True for dask arrays and dataframes (without importing dask)."""
    return type(X).__module__.split(".")[0].startswith("dask") and hasattr(
        X, "__dask_graph__"
    )


def available_memory():
    """Return the bytes of memory available to new allocations, or None if unknown.

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (free memory plus what the
    page cache would give back), else the free physical pages.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def copy_fits(X):
    """Whether a shuffled copy of the dense ``X`` fits comfortably in memory.

    Comfortably: within half of the memory available now. Otherwise a fit
    reads ``X`` in place in chunks, as it reads a memory map
    (:class:`ChunkedRows`): its extra memory is a chunk, not a copy of X.
    """
    available = available_memory()
    return available is None or X.nbytes <= COPY_SHARE * available


def is_memory_mapped(X):
    """Return True when ``X`` is a view of a memory-mapped file."""
    import mmap

    while X is not None:
        if isinstance(X, (np.memmap, mmap.mmap)):
            return True
        X = getattr(X, "base", None)
    return False


def check_magnitude(values, name, what, scaler):
    """Raise a ValueError when sums of squares of ``values`` would overflow.

    The descent sums squared values (gradients, the automatic learning rate's
    statistics) over rows and features in the data's own precision; values
    within a factor of ``sqrt(n)`` of the square root of the largest float
    overflow there, however finite they are themselves.
    """
    data = values.data if sp.issparse(values) else values
    if data.size == 0:
        return
    dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.float64
    largest = largest_magnitude(np.ravel(np.asarray(data, dtype=dtype)))
    limit = np.sqrt(float(np.finfo(dtype).max) / max(values.size, 1))
    if largest > limit:
        raise ValueError(
            f"{name} has values as large as {largest:.3g}: gradient descent sums "
            f"their squares, which overflow {np.dtype(dtype).name} beyond about "
            f"{limit:.3g} for data of this size. Scale the {what} first, e.g. "
            f"with {scaler}."
        )


class EpochKernel:
    """The compiled epoch kernel with one fit's settings bound.

    ``settings`` are the kernel arguments after ``t`` up to the conditioning
    (``fit_intercept, loss_code, multinomial, epsilon, solver, momentum,
    beta_2, l2, l1``); ``center`` and ``precond`` are the conditioning of
    :func:`sklearn_gd._kernels.run_epoch_dense`. Plain attributes only, so dask
    can ship it to its workers. ``table`` and ``table_mean`` are SAGA's
    memory (:meth:`remember_gradients`), empty for the other solvers.
    """

    def __init__(self, settings, center, precond, n_outputs):
        self.settings = settings
        self.center = center
        self.precond = precond
        self.n_outputs = n_outputs
        self.table = np.zeros((0, n_outputs))
        self.table_mean = np.zeros(0)
        # The rows SAGA's mean is over, when not those of an epoch (dense only).
        self.table_rows = 0
        self.averaged = np.zeros(0)
        self.average_state = np.zeros(2)
        self.workspace = None  # the just-in-time kernels' array (CSR only)

    def average_iterates(self, averaged, average_state):
        """Have the kernel fold every update into ``averaged`` (float64, in place).

        ``average_state`` is ``[updates averaged so far, rows still to see
        before the average starts]`` (float64, updated in place).
        """
        self.averaged = averaged
        self.average_state = average_state

    def fold_into_average(self, params, rows):
        """Fold ``params`` after an update of ``rows`` rows into the average.

        The compiled kernels' own rule, for steps taken outside them.
        """
        if self.averaged.shape[0] > 0:
            _fold_into_average(params, self.averaged, self.average_state, rows)

    def remember_gradients(self, n_rows, n_params):
        """Give the kernel SAGA's memory for ``n_rows`` rows of X, all zero.

        One float64 a row and output (the row's last weighted loss
        derivative: for a linear model that determines its gradient) and the
        mean of the stored gradients.
        """
        self.table = np.zeros((n_rows, self.n_outputs))
        self.table_mean = np.zeros(n_params)

    def row_derivatives(self, X, Y, sample_weight, rows, params):
        """Return SAGA's table at ``params``: each row's weighted loss derivative.

        Of shape (rows of X, outputs), filled at ``rows`` (zero elsewhere),
        by one pass of steps of size zero.
        """
        probe = EpochKernel(self.settings, self.center, self.precond, self.n_outputs)
        probe.remember_gradients(X.shape[0], params.shape[0])
        probe.run(
            X, Y, sample_weight, rows, max(rows.shape[0], 1), np.zeros(1),
            params.copy(), np.zeros((2, params.shape[0]), dtype=params.dtype), 0,
        )  # fmt: skip
        return probe.table

    def run(self, X, Y, sample_weight, order, batch_size, rates, params, state, t):
        """Run the kernel for X's format; return ``(objective, updates, finite)``."""
        if sp.issparse(X):
            self.workspace = self._workspace(params.shape[0])
            return run_epoch_csr(
                X.data, X.indices, X.indptr, Y, sample_weight, order, batch_size,
                rates, params, state, t, *self.settings, self.precond, self.table,
                self.table_mean, self.averaged, self.average_state, self.workspace,
            )  # fmt: skip
        return run_epoch_dense(
            X, Y, sample_weight, order, batch_size, rates, params, state, t,
            *self.settings, self.center, self.precond, self.table, self.table_mean,
            self.averaged, self.average_state, self.table_rows,
        )  # fmt: skip

    def _workspace(self, n_params):
        """Return the just-in-time kernels' array, or an empty one where unused.

        Only heavy ball, Nesterov and SAGA without L1 run just in time; the
        probes of the loss (plain steps) would allocate a vector for nothing.
        """
        solver, momentum, l1 = self.settings[4], self.settings[5], self.settings[8]
        saga = self.table.shape[0] > 0  # SAGA's memory may come after a probe
        lazy = l1 == 0.0 and (saga or (solver in (SGD, NESTEROV) and momentum > 0.0))
        n_coef = n_params - self.n_outputs if lazy else 0
        if self.workspace is not None and self.workspace.shape[0] == n_coef:
            return self.workspace
        return workspace(n_coef + self.n_outputs, self.n_outputs)

    def _plain(self, n_params, penalised):
        """Return this kernel as plain gradient descent without momentum.

        ``penalised`` keeps the penalty (it enters the objective a pass
        returns). The preconditioner is this kernel's when it is all ones,
        else a fresh one of ones.
        """
        l2, l1 = self.settings[7:] if penalised else (0.0, 0.0)
        # The intercepts' gradient is always computed (the adaptive solvers'
        # rate and the stopping rule decide whether it counts).
        settings = (True, *self.settings[1:4], SGD, 0.0, 0.0, l2, l1)
        ones = self.precond
        if ones.shape[0] != n_params or not _all_ones(ones):
            ones = np.ones(n_params)
        return EpochKernel(settings, self.center, ones, self.n_outputs)

    def _scratch_velocity(self, X, n_params, dtype):
        """Return the velocity plain descent writes: none on CSR rows without L1.

        (They take the scaled kernel, which keeps no velocity.)
        """
        unused = sp.issparse(X) and self.settings[8] == 0.0
        return np.zeros((1, 0 if unused else n_params), dtype=dtype)

    def evaluate(self, X, Y, sample_weight, rows, params):
        """Return the objective over ``rows`` at ``params``, which stay as they are.

        One batch of plain gradient descent at rate zero: the solver's
        state would move even then, so plain descent runs on a scratch
        velocity, and float64 ``params`` need no copy. (A step of rate zero
        leaves them as they are unless their gradient overflows, which
        float32 ones can: those are evaluated on a copy.)
        """
        n_params = params.shape[0]
        if params.dtype != np.float64:
            params = params.copy()
        plain = self._plain(n_params, penalised=True)
        intercepts = params[n_params - self.n_outputs :].copy()
        try:
            self._uncentre(X, params)
            return plain.run(
                X, Y, sample_weight, rows, max(rows.shape[0], 1), np.zeros(1),
                params, plain._scratch_velocity(X, n_params, params.dtype), 0,
            )[0]  # fmt: skip
        finally:
            params[n_params - self.n_outputs :] = intercepts

    def _uncentre(self, X, params):
        """Fold the centre of sparse rows into the intercepts of ``params``.

        Return the shift ``center @ W`` taken off each intercept (None where
        nothing is centred). The CSR kernels see X itself: with the intercept
        ``b - center @ w`` they predict what ``(x - center) @ w + b`` does.
        """
        if not (sp.issparse(X) and self.center.shape[0]):
            return None
        n_coef = params.shape[0] - self.n_outputs
        coef = params[:n_coef].astype(np.float64, copy=False)
        coef = coef.reshape(-1, self.n_outputs)
        shift = self.center.astype(np.float64) @ coef
        params[n_coef:] -= shift.astype(params.dtype)
        return shift

    def loss_gradient(self, X, Y, sample_weight, order, params):
        """Return the weighted loss sum and loss-gradient sum of the rows in ``order``.

        One plain gradient step of size 1 on a float64 copy, without penalty
        or preconditioner, moves it by the mean gradient: the same arithmetic
        as a full-batch epoch. The copy is float64 even for float32 data: the
        difference of two float32 vectors would lose the gradient's digits
        near the optimum, where Adam's normalised steps amplify them. Both
        sums are float64; the copy becomes the gradient in place.
        """
        n_rows = order.shape[0]
        n_params = params.shape[0]
        if n_rows == 0:
            return 0.0, np.zeros(n_params)
        probe = params.astype(np.float64)
        shift = self._uncentre(X, probe)
        plain = self._plain(n_params, penalised=False)
        mean_loss = plain.run(
            X, Y, sample_weight, order, n_rows, np.ones(1), probe,
            plain._scratch_velocity(X, n_params, np.float64), 0,
        )[0]  # fmt: skip
        probe -= params
        n_coef = n_params - self.n_outputs
        if shift is not None:
            # The step moved the shifted intercepts; the rows' sums over
            # x - center are those over x less center times the intercepts'.
            probe[n_coef:] += shift
            probe[:n_coef] -= np.outer(self.center, probe[n_coef:]).ravel()
        probe *= -n_rows
        return float(mean_loss) * n_rows, probe

    def step(self, params, gradient_sum, n_rows, rate, state, t):
        """Step from a loss-gradient sum over ``n_rows`` rows; return the penalty."""
        fit_intercept = self.settings[0]
        solver, momentum, beta_2, l2, l1 = self.settings[4:]
        n_coef = params.shape[0] - self.n_outputs
        n_active = params.shape[0] if fit_intercept else n_coef
        return solver_step(
            solver, params, gradient_sum.astype(params.dtype), 1.0 / n_rows, n_coef,
            n_active, rate, t, momentum, beta_2, l2, l1, state, self.precond,
        )  # fmt: skip

    def penalty(self, params):
        """Return the penalty ``l2 / 2 * ||w||^2 + l1 * ||w||_1`` of ``params``."""
        l2, l1 = self.settings[7:]
        coef = params[: params.shape[0] - self.n_outputs].astype(np.float64, copy=False)
        penalty = 0.5 * l2 * float(coef @ coef)
        return penalty + l1 * float(np.abs(coef).sum()) if l1 else penalty

    def gradient(self, loss_gradient_sum, n_rows, params):
        """Return the objective's smooth gradient from a loss-gradient sum.

        Made in the sum's own array when it is float64 (the callers' sums are
        theirs to give): no vector of the coefficients' size is allocated.
        """
        l2 = self.settings[7]
        gradient = np.asarray(loss_gradient_sum, dtype=np.float64)
        gradient /= n_rows
        n_coef = params.shape[0] - self.n_outputs
        if l2:
            for start in range(0, n_coef, 1 << 16):
                stop = min(start + (1 << 16), n_coef)
                gradient[start:stop] += l2 * params[start:stop]
        return gradient


def block_rows(row_bytes, n_rows):
    """Return the rows of a block of :func:`random_blocks`: about ``BLOCK_BYTES``.

    At least ``MIN_BLOCK_ROWS``, and at most a ``MIN_BLOCKS``-th of the rows
    (more than ``MIN_BLOCK_ROWS``) so that small data still gets a random order.
    """
    return int(
        np.clip(
            BLOCK_BYTES // max(row_bytes, 1),
            MIN_BLOCK_ROWS,
            max(MIN_BLOCK_ROWS, n_rows // MIN_BLOCKS),
        )
    )


def random_blocks(n_rows, block, rng):
    """Return ``range(n_rows)`` in blocks of ``block`` rows visited at random.

    The blocks start at a random offset and come in a random order; rows
    within a block keep their storage order (see ``InMemoryRows.order``).
    """
    offset = int(rng.randint(block))
    n_blocks = -(-(n_rows + offset) // block)
    starts = rng.permutation(n_blocks).astype(np.intp) * block - offset
    return block_order(starts, block, n_rows)


_POOLS = {}


def _threaded(function, items, n_threads):
    """Return ``[function(item) for item in items]``, on ``n_threads`` threads.

    The compiled kernels release the GIL, so the calls run in parallel. The
    pool outlives the call (starting threads every epoch would cost more than
    a small epoch), one per process and thread count.
    """
    if n_threads <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    key = (os.getpid(), n_threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=n_threads)
    return list(_POOLS[key].map(function, items))


class _Rows:
    """What both sources share: the training weights and batch size, and
    full-batch epochs from summed loss gradients."""

    def _set_weights(self, sample_weight, batch_size, shuffle, weight_unit=None):
        """Keep the weights with mean 1 over the positive ones; return that mask.

        ``weight_unit`` (a block of a ``partial_fit`` stream): divide by it
        instead, the stream's mean weight, so that blocks keep their weights
        relative to each other; the block is then never the full batch of
        the data set, whatever its size. Also sets ``n_rows`` (rows with a
        positive weight), ``batch_size`` (at most ``n_rows``), ``full_batch``
        and ``shuffles``.
        """
        positive = sample_weight > 0
        self.n_rows = int(np.count_nonzero(positive))
        self.weight_sum = float(np.sum(sample_weight[positive], dtype=np.float64))
        if weight_unit is None:
            factor = self.n_rows / sample_weight[positive].sum()
        else:
            factor = 1.0 / weight_unit
        self.sample_weight = sample_weight * factor
        self.batch_size = min(batch_size, self.n_rows)
        self.full_batch = weight_unit is None and self.batch_size >= self.n_rows
        self.shuffles = shuffle and not self.full_batch
        return positive

    def loss_gradient(self, kernel, params):
        """Return the loss sum and loss-gradient sum over the training rows."""
        sums = self._map(
            lambda X, Y, weights, rows: kernel.loss_gradient(
                X, Y, weights, rows, params
            )
        )
        loss = sum(part[0] for part in sums)
        gradient = np.sum([part[1] for part in sums], axis=0)
        return loss, gradient

    def objective_and_gradient(self, kernel, params):
        """Return the exact objective and smooth gradient (float64) at ``params``."""
        loss, gradient_sum = self.loss_gradient(kernel, params)
        objective = loss / self.n_rows + kernel.penalty(params)
        return objective, kernel.gradient(gradient_sum, self.n_rows, params)

    def full_batch_epoch(self, kernel, rates, params, state, t):
        """Take one full-batch step in place from the exact gradient at ``params``.

        Returns ``(objective, gradient)`` at the starting point: the exact
        objective and the gradient of its smooth part, which the stopping
        rule turns into a bound on the distance to the optimum
        (``sklearn_gd._convergence``).
        """
        loss, gradient_sum = self.loss_gradient(kernel, params)
        start = params.copy()
        penalty = kernel.step(params, gradient_sum, self.n_rows, rates[0], state, t)
        kernel.fold_into_average(params, self.n_rows)
        objective = loss / self.n_rows + penalty
        return objective, kernel.gradient(gradient_sum, self.n_rows, start)

    def _summed_epoch(self, kernel, rates, params, state, t):
        """Take the full-batch step from the parts' summed loss gradients."""
        objective, _ = self.full_batch_epoch(kernel, rates, params, state, t)
        return objective, 1, bool(np.isfinite(objective))


class InMemoryRows(_Rows):
    """Training rows held in memory: a numpy array or a CSR matrix.

    A fit that shuffles copies the rows once in a random order (random reads
    of memory cost more than the arithmetic); ``partial_fit`` visits its block
    in a fresh random order instead. With ``n_threads > 1`` full-batch
    epochs (and the passes of the automatic learning rate) split the rows
    into one contiguous part per thread and add up the parts' gradients.
    """

    def __init__(
        self, X, Y, sample_weight, batch_size, shuffle, rng, incremental, n_threads=1,
        weight_unit=None,
    ):  # fmt: skip
        positive = self._set_weights(sample_weight, batch_size, shuffle, weight_unit)
        rows = np.flatnonzero(positive).astype(np.intp)
        self.shuffled_copy = self.shuffles and not incremental
        if self.shuffled_copy:
            permutation = rng.permutation(rows)
            X, Y = X[permutation], Y[permutation]
            self.sample_weight = self.sample_weight[permutation]
            rows = np.arange(self.n_rows, dtype=np.intp)
        self.X, self.Y, self.rows = X, Y, rows
        self.sparse = sp.issparse(X)
        self.n_batches = -(-self.n_rows // self.batch_size)
        stored = X.data.nbytes / max(X.shape[0], 1) if self.sparse else X[:1].nbytes
        self.block = block_rows(stored, self.n_rows)
        # Below some rows a thread costs more than it saves.
        self.n_threads = n_threads if self.n_rows >= PARALLEL_ROWS else 1

    def order(self, rng):
        """Return the order in which an epoch visits the rows.

        Without shuffling (or for full batch, where order does not matter) the
        rows in storage order. With a shuffled copy: the copy is cut into
        blocks of ``self.block`` consecutive rows at a random offset, and the
        blocks are visited in a random order, both drawn afresh each epoch;
        rows within a block are read in storage order, which lets the
        processor prefetch them (shuffling within blocks measured 2x slower).
        A block is about ``BLOCK_BYTES`` of rows: on 200,000 x 100 float32
        at batch 16, blocks of 64 rows took 9.4 ms an epoch, of 1,024 rows
        6.7 ms, in storage order 6.9 ms (the prefetcher restarts at every
        jump). At least ``MIN_BLOCKS`` blocks keep the order random on small
        data.
        The offset moves batch boundaries, so batches change membership from
        epoch to epoch. Otherwise (partial_fit) a plain random permutation.
        """
        rows = self.rows
        if not self.shuffles:
            return rows
        if not self.shuffled_copy:
            return rng.permutation(rows)
        return random_blocks(self.n_rows, self.block, rng)

    def epoch(self, kernel, rates, params, state, t, rng):
        """Run one epoch in place; return ``(objective, updates, finite)``."""
        if self.full_batch and self.n_threads > 1:
            return self._summed_epoch(kernel, rates, params, state, t)
        order = self.order(rng)
        return kernel.run(
            self.X, self.Y, self.sample_weight, order, self.batch_size, rates,
            params, state, t,
        )  # fmt: skip

    def objective(self, kernel, params, state, *, at_most=None):
        """Return the objective at ``params``, on ``at_most`` evenly spread rows."""
        rows = self.rows
        if at_most is not None and at_most < self.n_rows:
            rows = rows[np.linspace(0, self.n_rows - 1, at_most).astype(np.intp)]
        return kernel.evaluate(self.X, self.Y, self.sample_weight, rows, params)

    def remember_gradients(self, kernel, n_params):
        """Give ``kernel`` SAGA's memory of every row's gradient."""
        kernel.remember_gradients(self.X.shape[0], n_params)

    def _map(self, function):
        """Return ``[function(X, Y, weights, rows) for each thread's rows]``."""
        parts = np.array_split(self.rows, self.n_threads)
        return _threaded(
            lambda rows: function(self.X, self.Y, self.sample_weight, rows),
            parts,
            self.n_threads,
        )

    def reduce(self, function, combine):
        """Return ``combine([function(X, weights)])``; the weights have mean 1."""
        return combine([function(self.X, self.sample_weight)])

    def take(self, positions):
        """Return ``(X, weights)`` of the training rows at ``positions`` (sorted)."""
        rows = self.rows[positions]
        return self.X[rows], self.sample_weight[rows]

    def sample(self, n_rows, rng):
        """Return ``(X, weights)`` of ``n_rows`` training rows drawn at random.

        The shuffled copy is already in a random order: its first rows are
        such a sample, taken as a view (gathering 20,000 scattered rows of
        100 features cost ten passes over 100,000).
        """
        if self.shuffled_copy:
            return self.X[:n_rows], self.sample_weight[:n_rows]
        return self.take(np.sort(rng.choice(self.n_rows, n_rows, replace=False)))

    def everything(self):
        """Return ``(X, weights)`` of every row (zero weights for the unused)."""
        return self.X, self.sample_weight


class ChunkedRows(_Rows):
    """Training rows in chunks, read in place: a memory map or a large array.

    ``X`` itself is never copied. It is cut into chunks of about
    ``STREAM_BYTES`` (a whole number of batches). Full batch sums the
    chunks' loss gradients (on ``n_threads`` threads) and takes the step;
    mini-batches visit the chunks in a random order and each chunk's rows in
    a random order, in a shuffled copy of that chunk. Extra memory: one
    chunk, plus the per-row targets and weights. A dask array has its own
    source, :class:`sklearn_gd._dask_rows.DaskRows`, which trains on the
    workers.
    """

    def __init__(
        self, X, Y, sample_weight, batch_size, shuffle, n_threads=1, weight_unit=None
    ):
        self.n_threads = n_threads
        positive = self._set_weights(sample_weight, batch_size, shuffle, weight_unit)
        row_bytes = max(X.shape[1] * X.dtype.itemsize, 1)
        chunk = max(STREAM_BYTES // row_bytes, 1)
        chunk = -(-chunk // self.batch_size) * self.batch_size
        bounds = np.append(np.arange(0, X.shape[0], chunk), X.shape[0])
        self._set_chunks(X, Y, bounds, positive)

    def _set_chunks(self, X, Y, bounds, positive):
        """Keep ``X``, ``Y`` and the chunks' bounds and training rows."""
        self.X, self.Y = X, Y
        self.bounds = bounds
        self.n_chunks = bounds.shape[0] - 1
        self.rows = [
            np.flatnonzero(positive[start:stop]).astype(np.intp)
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        self.sparse = False
        self.n_batches = (
            1
            if self.full_batch
            else sum(-(-rows.shape[0] // self.batch_size) for rows in self.rows)
        )

    def _local(self, index):
        """Return the targets and weights of chunk ``index``."""
        start, stop = self.bounds[index], self.bounds[index + 1]
        return self.Y[start:stop], self.sample_weight[start:stop]

    def _map(self, function):
        """Return ``[function(X, Y, weights, rows) for each chunk]``, on threads."""
        return _threaded(
            lambda index: function(
                self.X[self.bounds[index] : self.bounds[index + 1]],
                *self._local(index),
                self.rows[index],
            ),
            range(self.n_chunks),
            self.n_threads,
        )

    def epoch(self, kernel, rates, params, state, t, rng):
        """Run one epoch in place; return ``(objective, updates, finite)``."""
        if self.full_batch:
            return self._summed_epoch(kernel, rates, params, state, t)
        chunks = (
            rng.permutation(self.n_chunks) if self.shuffles else range(self.n_chunks)
        )
        total, n_updates, batch = 0.0, 0, 0
        for index in chunks:
            start, stop = self.bounds[index], self.bounds[index + 1]
            X, rows = self.X[start:stop], self.rows[index]
            Y, weights = self._local(index)
            if self.shuffles:
                rows = rng.permutation(rows)
                X, Y, weights = X[rows], Y[rows], weights[rows]
                rows = np.arange(rows.shape[0], dtype=np.intp)
            n_batches = -(-rows.shape[0] // self.batch_size)
            if n_batches == 0:
                continue
            objective, updates, finite = kernel.run(
                X, Y, weights, rows, self.batch_size,
                rates[batch : batch + n_batches], params, state, t + n_updates,
            )  # fmt: skip
            batch += n_batches
            total += objective * updates
            n_updates += updates
            if not finite:
                return objective, n_updates, False
        return total / max(n_updates, 1), n_updates, True

    def objective(self, kernel, params, state, *, at_most=None):
        """Return the objective at ``params`` (over every row)."""
        loss, _ = self.loss_gradient(kernel, params)
        return loss / self.n_rows + kernel.penalty(params)

    def reduce(self, function, combine):
        """Return ``combine`` over the chunks of ``function(X, weights)``."""
        parts = self._map(lambda X, Y, weights, rows: function(X, weights))
        return combine(parts)

    def sample(self, n_rows, rng):
        """Return ``(X, weights)`` of ``n_rows`` training rows drawn at random."""
        return self.take(np.sort(rng.choice(self.n_rows, n_rows, replace=False)))

    def take(self, positions):
        """Return ``(X, weights)`` of the training rows at ``positions`` (sorted)."""
        counts = np.array([rows.shape[0] for rows in self.rows])
        firsts = np.concatenate([[0], np.cumsum(counts)])
        chunk = np.searchsorted(firsts, positions, side="right") - 1
        rows = np.concatenate(
            [
                self.bounds[index] + self.rows[index][positions[chunk == index] - first]
                for index, first in enumerate(firsts[:-1])
            ]
        ).astype(np.intp)
        return self._gather(rows), self.sample_weight[rows]

    def _gather(self, rows):
        """Return the rows ``rows`` of X in memory."""
        return self.X[rows]

    def everything(self):
        """Return ``(X, weights)`` of the training rows, brought into memory."""
        return self.take(np.arange(self.n_rows))


def validate_dask_input(
    estimator, X, y, sample_weight, *, reset, multi_output, y_numeric
):
    """Check a dask ``X`` (array or dataframe) and bring ``y`` and the weights in.

    ``X`` stays a lazy dask array of floats with its rows in chunks and every
    column in each chunk; ``y`` and ``sample_weight`` (one value a row) are
    computed into numpy arrays. Feature names and counts are checked as
    :func:`sklearn.utils.validation.validate_data` checks them.
    """
    import dask.array as da

    X = dask_features(estimator, X, reset=reset)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-dimensional dask array for X, got {X.ndim} dimensions; "
            "reshape it to (n_samples, n_features)."
        )
    if any(np.isnan(length) for length in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if X.dtype not in (np.float32, np.float64):
        if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
            raise ValueError(
                f"X has dtype {X.dtype}; a dask X must hold numbers. Encode "
                "categorical columns first (e.g. with dask_ml.preprocessing)."
            )
        X = X.astype(np.float64)
    if sp.issparse(X._meta):
        raise ValueError(
            "X is a dask array of sparse chunks, which fit does not train on; "
            "pass its chunks to partial_fit (dask_ml.wrappers.Incremental) instead."
        )
    X = X.rechunk({1: -1})
    if is_dask_collection(y):
        y = y.compute()
    y = _check_y(np.asarray(y), multi_output=multi_output, y_numeric=y_numeric)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {y.shape[0]}; pass one target a row."
        )
    if is_dask_collection(sample_weight):
        sample_weight = np.asarray(sample_weight.compute())
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True,
        allow_all_zero_weights=True,
    )  # fmt: skip
    if not bool(da.isfinite(X).all().compute()):
        raise ValueError(
            "Input X contains NaN or infinity; remove or impute those values "
            "(e.g. with dask_ml.impute.SimpleImputer) before fitting."
        )
    return X, y, sample_weight


def dask_features(estimator, X, *, reset):
    """Check the features of a dask ``X``; return it as a dask array.

    A dask dataframe's column names are checked on its (empty pandas) meta.
    """
    if hasattr(X, "to_dask_array"):
        validate_data(estimator, X._meta, skip_check_array=True, reset=reset)
        return X.to_dask_array(lengths=True)
    validate_data(estimator, X, skip_check_array=True, reset=reset)
    return X


def chunk_bounds(X):
    """Return the row bounds of the dask array ``X``'s chunks (first rows, then n)."""
    return np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.intp)


def _rows_of_chunk(chunk, mask):
    return chunk[mask]


def dask_rows_where(X, mask):
    """Return the rows of the dask array ``X`` where ``mask`` is True, lazily.

    Chunk by chunk, each task given its slice of the mask, so every row
    stays on the worker of its chunk: dask's own ``X[mask]`` gathers rows by
    a shuffle, which on a LocalCluster moved 18% of X between the workers
    for a tenth of its rows, and a mask passed as a dask array moved chunks
    of X to the mask's worker on the first pass.
    """
    import dask
    import dask.array as da

    bounds = chunk_bounds(X)
    parts = [
        da.from_delayed(
            dask.delayed(_rows_of_chunk)(block, mask[start:stop]),
            shape=(int(np.count_nonzero(mask[start:stop])), X.shape[1]),
            dtype=X.dtype,
        )
        for block, start, stop in zip(
            X.to_delayed().ravel(), bounds[:-1], bounds[1:], strict=True
        )
    ]
    return da.concatenate(parts, axis=0)


def map_rows(function, X, n_columns, dtype):
    """Apply ``function`` to each chunk of the dask array ``X``, lazily.

    ``function`` gets a float numpy chunk with every column and returns one
    value a row (``n_columns=None``) or ``n_columns`` values a row, of
    ``dtype`` (``None``: the dtype of the chunk).
    """
    X = X.rechunk({1: -1})
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    dtype = X.dtype if dtype is None else dtype
    if n_columns is None:
        return X.map_blocks(function, drop_axis=1, dtype=dtype)
    return X.map_blocks(function, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)
