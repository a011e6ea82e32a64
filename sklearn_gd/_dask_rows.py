"""Training where the dask chunks live: local SGD with parameter averaging.

A dask array given to ``fit`` stays on the workers. Every pass the training
loop needs runs there as tasks next to the chunks, and only parameters,
per-chunk sums and the solver's state travel:

* full batch: each chunk's loss-gradient sum (one vector a chunk);
* mini-batches: *local SGD with averaging*. An epoch is a number of rounds.
  In each round every worker trains one of its own chunks, from the current
  parameters and solver state, with the compiled epoch kernel; the client
  then averages the workers' parameters and states, weighted by the rows
  each trained, and starts the next round from the average (parameter
  averaging, Zinkevich et al. 2010; local SGD, Stich 2019). With one worker
  (or dask's local schedulers) a round is one chunk and the fit is
  sequential mini-batch descent over chunks in a random order.
* SAGA (``solver="auto"``): at each epoch's start the workers compute the
  mean gradient at that point, the snapshot; each chunk's steps are then
  corrected by its rows' derivatives at the snapshot, and the mean takes in
  the chunk's changes over all rows (the kernel's ``table_rows``). This is
  SVRG's correction (Johnson & Zhang 2013) and, across workers, SCAFFOLD's
  control variate (Karimireddy et al. 2020): no noise floor, and no pull of
  a chunk towards its own optimum, to first order.
* the automatic learning rate's statistics: feature moments, the largest
  row norm and the Gram matrix's top eigenvalue (the chunks' Gram matrices,
  or Lanczos products over the chunks for many features).

The averaging period is one chunk per worker: a shorter one (``X.rechunk``)
follows the sequential path more closely and costs a round trip per chunk.
Steps count along the averaged path: ``t_`` grows by the longest chunk's
batches each round.

Where a copy of ``X`` fits in half the workers' free memory (without a
distributed client: in half the available memory), a copy with each chunk's
rows shuffled is kept for the fit, each task is pinned to the worker holding
its chunk, and the targets and weights are sent to that worker once.
Chunks whose means differ beyond chance (rows sorted by class, target or
date) are first shuffled across the workers, once. Otherwise every pass
computes its chunks from their source where the tasks run, and each epoch
visits each chunk's rows in a fresh random order.
"""

import contextlib
import copy

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from scipy.stats import norm

from ._data import (
    COPY_SHARE,
    ChunkedRows,
    block_rows,
    chunk_bounds,
    copy_fits,
    random_blocks,
)
from ._learning_rate import GRAM_MARGIN, LANCZOS_TOL

# Features (with the intercept) up to which the workers send their chunks'
# Gram matrices for the learning rate's eigenvalue: one round, ``size**2``
# floats a chunk. Above it, Lanczos products run over the chunks (a round
# and ``size`` floats a chunk per product).
GRAM_SIZE = 512


def distributed_client():
    """Return the ``dask.distributed`` client dask computes with, or None."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    import dask.base

    return client if dask.base.get_scheduler() == client.get else None


def _cluster_fits(client, X):
    """Whether a copy of ``X`` fits comfortably in the workers' free memory.

    Comfortably: within half of their memory limits less what their
    processes use now (the user's own persisted X included), as a shuffled
    copy in memory must fit in half the available memory.
    """
    workers = client.scheduler_info()["workers"].values()
    limits = [worker.get("memory_limit") or 0 for worker in workers]
    if not limits or not all(limits):
        return True  # no limit: the machines' memory decides, as in memory
    used = sum(worker.get("metrics", {}).get("memory", 0) for worker in workers)
    return X.nbytes <= COPY_SHARE * (sum(limits) - used)


def _room_for_copy(client, X):
    """Whether a copy of the dask array ``X`` fits where it would be kept.

    On the cluster with a distributed ``client`` (:func:`_cluster_fits`), in
    memory with dask's local schedulers (``_data.copy_fits``).
    """
    return copy_fits(X) if client is None else _cluster_fits(client, X)


def keep_if_room(X):
    """Return the dask array ``X`` persisted where a copy of it fits, else ``X``."""
    client = distributed_client()
    if not _room_for_copy(client, X):
        return X
    return X.persist() if client is None else client.persist(X)


def _on_chunk(X, Y, weights, function):
    """Call ``function`` on a chunk and its training rows, where it lives."""
    return function(X, Y, weights, np.flatnonzero(weights > 0).astype(np.intp))


def _shuffled(chunk, seed):
    """Return the rows of a chunk of X in the random order ``seed`` draws."""
    return chunk[np.random.RandomState(seed).permutation(chunk.shape[0])]


def _pinned(holder):
    """Return a context pinning the tasks made in it to ``holder`` (None: any)."""
    if holder is None:
        return contextlib.nullcontext()
    import dask

    return dask.annotate(workers=[holder], allow_other_workers=False)


def _holders(client, X):
    """Return the worker holding each chunk of the persisted ``X`` (None each
    without a client)."""
    if client is None:
        return [None] * len(X.chunks[0])
    from distributed import wait

    wait(X)
    who_has = client.who_has(X)
    return [sorted(who_has[key[0]])[0] for key in X.__dask_keys__()]


def _local_epoch(
    X, Y, weights, kernel, batch_size, rates, params, state, t, seed, blocks,
    snapshot, n_rows,
):  # fmt: skip
    """Train one chunk from ``params`` and ``state``, on the worker holding it.

    ``rates`` is an array of one rate a step, or ``(rate, steps)`` when all
    are equal (a task then carries two numbers down, not one a step).
    ``seed`` draws the order of the chunk's rows (None: storage order): of
    its blocks of rows if they were shuffled once for the fit (``blocks``),
    as ``InMemoryRows`` visits its shuffled copy, else of the rows. With a
    ``snapshot`` (SAGA) the kernel's ``table_mean`` is the mean loss
    gradient over all ``n_rows`` training rows at the snapshot, and the
    steps are variance-reduced against each row's derivative there (see
    :class:`DaskRows`). Returns ``(params, state, objective, updates,
    finite)``.
    """
    if isinstance(rates, tuple):
        rates = np.full(rates[1], rates[0])  # one rate for every step
    X = np.ascontiguousarray(X)
    rows = np.arange(X.shape[0], dtype=np.intp)
    if seed is not None and blocks:
        block = block_rows(X[:1].nbytes, X.shape[0])
        rows = random_blocks(X.shape[0], block, np.random.RandomState(seed))
    elif seed is not None:
        rows = np.random.RandomState(seed).permutation(X.shape[0])
    rows = rows[weights[rows] > 0]
    if snapshot is not None:
        mean = kernel.table_mean
        kernel = copy.copy(kernel)
        kernel.table = kernel.row_derivatives(X, Y, weights, rows, snapshot)
        kernel.table_mean = mean.copy()
        kernel.table_rows = n_rows
    # Copies: arrays that arrive by pickle may be read-only, and on dask's
    # local schedulers every task of a round would share them.
    params, state = params.copy(), state.copy()
    objective, updates, finite = kernel.run(
        X, Y, weights, rows, batch_size, rates, params, state, t
    )
    return params, state, objective, updates, finite


def _chunk_moments(chunk):
    """Return ``[means, variances]`` of a chunk's columns, as one row."""
    chunk = np.asarray(chunk, dtype=np.float64)
    return np.concatenate([chunk.mean(axis=0), chunk.var(axis=0)])[None, :]


def _chunks_agree(means, variances, lengths, false_alarm=1e-6):
    """Whether chunks of ``lengths`` rows could be random samples of all rows.

    ``means`` and ``variances`` hold one row a chunk and one column a
    variable. Each chunk's mean is compared with the mean of all rows in
    standard errors of a random chunk of its size (drawn without
    replacement); the threshold keeps the chance that any comparison fails
    for random chunks below ``false_alarm``.
    """
    n = lengths.sum()
    weights = lengths[:, None] / n
    mean = (weights * means).sum(axis=0)
    variance = (weights * (variances + (means - mean) ** 2)).sum(axis=0)
    spread = variance * (1.0 / lengths[:, None] - 1.0 / n)
    constant = variance <= 1e-12 * (1.0 + mean**2)
    z = np.abs(means - mean) / np.sqrt(np.where(constant, 1.0, spread) + 1e-300)
    z[:, constant] = 0.0
    threshold = norm.isf(false_alarm / (2 * means.size))
    return bool(np.max(z, initial=0.0) <= threshold)


def _compact(rates):
    """Return ``rates``, or ``(rate, steps)`` when they are all equal."""
    if rates.shape[0] > 1 and np.all(rates == rates[0]):
        return (float(rates[0]), rates.shape[0])
    return rates


def _design(X, weights, rows, center, scale, fit_intercept):
    """Return ``(A, weights)`` of the training rows, ``A = [(X - center) * scale, 1]``.

    The column of ones only with an intercept.
    """
    A = (np.asarray(X[rows], dtype=np.float64) - center) * scale
    if fit_intercept:
        A = np.column_stack([A, np.ones(A.shape[0])])
    return A, weights[rows].astype(np.float64)


class DaskRows(ChunkedRows):
    """Training rows in the chunks of a dask array, trained where they live.

    See the module docstring. ``groups`` holds, per worker, the indices of
    the chunks it holds (one group without a distributed client).
    """

    def __init__(
        self, X, Y, sample_weight, batch_size, shuffle, n_threads=1, weight_unit=None,
        rng=None,
    ):  # fmt: skip
        self.n_threads = n_threads
        positive = self._set_weights(sample_weight, batch_size, shuffle, weight_unit)
        if not self.full_batch and min(X.chunks[0][:-1], default=np.inf) < (
            self.batch_size
        ):
            # Batches do not straddle chunks: regroup chunks shorter than one.
            X = X.rechunk({0: max(self.batch_size, max(X.chunks[0]))})
        rng = np.random.RandomState(0) if rng is None else rng
        self.mixed = False  # whether the rows were shuffled across chunks
        client = distributed_client()
        # A shuffled copy of X is kept for the fit where it fits comfortably:
        # on the cluster, or with dask's local schedulers in memory. Otherwise every
        # pass computes its chunks from their source where the task runs, and
        # each epoch visits each chunk's rows in a random order, in place.
        keep = _room_for_copy(client, X)
        self.shuffled_copy = self.shuffles and keep
        # The set-up's passes over the chunks run where they are, as training
        # does: left to the scheduler, a worker that was idle first could
        # fetch another's chunk (one chunk in eight of the cluster test's X).
        source = [None] * len(X.chunks[0])
        if self.shuffled_copy and client is not None:
            X = client.persist(X)  # the test below and training read it
            source = _holders(client, X)
        if self.shuffled_copy and len(X.chunks[0]) > 1:
            if not self._exchangeable(X, Y, source):
                X, Y, positive = self._mix(X, Y, positive, rng)
                source = [None] * len(X.chunks[0])
        if self.shuffled_copy:
            X, Y, positive = self._shuffle_chunks(X, Y, positive, rng, source)
            if client is None:
                X = X.persist()
        holders = [None] * len(X.chunks[0])
        self.pinned = client is not None and keep
        if self.pinned:
            X = client.persist(X)
            holders = _holders(client, X)
        elif client is not None:
            # Not pinned: a round gives each worker's share one chunk, and
            # the scheduler runs each task where its chunk is computed.
            workers = sorted(client.scheduler_info()["workers"])
            holders = [workers[i % len(workers)] for i in range(len(holders))]
        bounds = chunk_bounds(X)
        self._set_chunks(X, Y, bounds, positive)
        self.holders = holders
        self._chunks = list(X.to_delayed().ravel())
        self._remote = self._place_targets(client)
        self.groups = [
            np.array([i for i, h in enumerate(holders) if h == holder], dtype=np.intp)
            for holder in sorted(set(holders), key=str)
        ]
        self._set_rounds()

    def _exchangeable(self, X, Y, holders):
        """Whether the chunks look like random samples of the rows.

        Rows sorted by class, by target or by time make chunks that differ:
        local steps on one chunk then pull towards that chunk's own optimum,
        which averaging and the snapshot's correction only undo to first
        order (two classes split at the median of a target, rows sorted by
        it, 20,000 x 10 in four chunks: 4e-3 above the optimum after 100
        epochs, against 9e-8 in 9 mixed). The test compares each chunk's
        mean of every feature and target with the mean of all rows, in
        standard errors of a random chunk of its size, at a family-wise
        false alarm rate of 1e-6. The chunks' moments cost one pass on the
        workers; only ``2 n_features`` numbers a chunk come back.
        """
        import dask

        lengths = np.array(X.chunks[0], dtype=np.float64)
        tasks = []
        for block, holder in zip(X.to_delayed().ravel(), holders, strict=True):
            with _pinned(holder):
                tasks.append(dask.delayed(_chunk_moments, pure=True)(block))
        moments = np.vstack(dask.compute(*tasks))
        bounds = chunk_bounds(X)
        Y = np.asarray(Y, dtype=np.float64)
        target = np.array(
            [
                np.concatenate([Y[a:b].mean(axis=0), Y[a:b].var(axis=0)])
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        )
        n_features, n_outputs = X.shape[1], Y.shape[1]
        means = np.hstack([moments[:, :n_features], target[:, :n_outputs]])
        variances = np.hstack([moments[:, n_features:], target[:, n_outputs:]])
        return _chunks_agree(means, variances, lengths)

    def _mix(self, X, Y, positive, rng):
        """Return ``X``, ``Y`` and ``positive`` with the rows shuffled across chunks.

        Once for the fit: X crosses between the workers once (dask's
        shuffle), then each chunk is a random sample of the rows.
        """
        order = rng.permutation(X.shape[0])
        self.mixed = True
        return (X[order].rechunk({0: X.chunks[0]}), *self._reorder(order, Y, positive))

    def _shuffle_chunks(self, X, Y, positive, rng, holders):
        """Return ``X``, ``Y`` and ``positive`` with each chunk's rows shuffled.

        Once for the fit, as ``InMemoryRows`` shuffles its copy: the workers
        shuffle their chunks, the client the targets and weights alike
        (from the same seeds), and epochs visit blocks of consecutive rows,
        which reads memory far faster than rows at random (50,000 x 50:
        10 ms a chunk at random, 1.5 ms in blocks).
        """
        import dask
        import dask.array as da

        lengths = X.chunks[0]
        seeds = rng.randint(2**31, size=len(lengths))
        starts = chunk_bounds(X)[:-1]
        parts = []
        blocks = X.to_delayed().ravel()
        for block, holder, seed, length in zip(
            blocks, holders, seeds, lengths, strict=True
        ):
            with _pinned(holder):
                task = dask.delayed(_shuffled, pure=True)(block, seed)
            parts.append(da.from_delayed(task, (length, X.shape[1]), dtype=X.dtype))
        X = da.concatenate(parts, axis=0)
        order = np.concatenate(
            [
                start + np.random.RandomState(seed).permutation(length)
                for start, seed, length in zip(starts, seeds, lengths, strict=True)
            ]
        )
        return (X, *self._reorder(order, Y, positive))

    def _reorder(self, order, Y, positive):
        """Put the weights in ``order``; return ``Y`` and ``positive`` in it too."""
        self.sample_weight = self.sample_weight[order]
        return Y[order], positive[order]

    def _place_targets(self, client):
        """Return each chunk's ``(Y, weights)``: on its worker with a client.

        They are sent once, to the worker that holds the chunk of X, so no
        task has to fetch them from another worker (where X is not kept, to
        the worker of the chunk's group, where its tasks mostly run).
        """
        local = [self._local(index) for index in range(self.n_chunks)]
        if client is None:
            return local
        remote = [None] * self.n_chunks
        for holder in set(self.holders):
            indices = [i for i, h in enumerate(self.holders) if h == holder]
            parts = [local[i][0] for i in indices] + [local[i][1] for i in indices]
            futures = client.scatter(parts, workers=[holder], broadcast=False)
            for position, index in enumerate(indices):
                remote[index] = (futures[position], futures[len(indices) + position])
        return remote

    def _set_rounds(self):
        """Set the rounds an epoch takes and an upper bound on its updates."""
        self.n_rounds = max(group.shape[0] for group in self.groups)
        if not self.full_batch:
            # A round takes the steps of its longest chunk: at most the
            # longest of all, and at most every chunk's steps one after another.
            steps = [-(-rows.shape[0] // self.batch_size) for rows in self.rows]
            self.n_batches = min(self.n_rounds * max(steps), sum(steps))

    def _on(self, index):
        """Return a context pinning the tasks on chunk ``index`` to its worker."""
        return _pinned(self.holders[index] if self.pinned else None)

    def _task(self, index, function, *args):
        """Return the delayed ``function(X, Y, weights, *args)`` of chunk ``index``."""
        import dask

        with self._on(index):
            return dask.delayed(function, pure=False)(
                self._chunks[index], *self._remote[index], *args
            )

    def _map(self, function):
        """Return ``[function(X, Y, weights, rows) for each chunk]``, on the workers."""
        import dask

        tasks = [self._task(i, _on_chunk, function) for i in range(self.n_chunks)]
        return list(dask.compute(*tasks))

    def epoch(self, kernel, rates, params, state, t, rng):
        """Run one epoch of local SGD in place; return ``(objective, updates, finite)``.

        ``updates`` counts the steps of the averaged path (the longest
        chunk's batches each round), ``objective`` is the mean of every
        batch's objective.
        """
        if self.full_batch:
            return self._summed_epoch(kernel, rates, params, state, t)
        import dask

        snapshot = None
        if kernel.table_mean.shape[0]:
            # SAGA: every row's gradient at the epoch's start, the snapshot.
            _, gradient_sum = self.loss_gradient(kernel, params)
            kernel.table_mean[:] = gradient_sum / self.n_rows
            snapshot = params.copy()
        orders = [
            rng.permutation(group) if self.shuffles else group for group in self.groups
        ]
        # The workers never fold into a running average: the client folds the
        # averaged parameters after each round.
        remote = copy.copy(kernel)
        remote.average_iterates(np.zeros(0), np.zeros(2))
        total, n_batches, n_updates = 0.0, 0, 0
        for position in range(self.n_rounds):
            chunks = [
                order[position]
                for order in orders
                if position < order.shape[0] and self.rows[order[position]].shape[0]
            ]
            if not chunks:
                continue  # this round's chunks have no training rows
            steps = [-(-self.rows[i].shape[0] // self.batch_size) for i in chunks]
            tasks = [
                self._task(
                    index,
                    _local_epoch,
                    remote,
                    self.batch_size,
                    _compact(rates[n_updates : n_updates + n_steps]),
                    params,
                    state,
                    t + n_updates,
                    int(rng.randint(2**31)) if self.shuffles else None,
                    self.shuffled_copy,
                    snapshot,
                    self.n_rows,
                )  # fmt: skip
                for index, n_steps in zip(chunks, steps, strict=True)
            ]
            results = dask.compute(*tasks)
            if not all(result[4] for result in results):
                worst = max(result[2] for result in results)
                return worst, n_updates + max(steps), False
            rows = np.array([self.rows[i].shape[0] for i in chunks], dtype=np.float64)
            share = rows / rows.sum()
            params[:] = sum(
                s * result[0] for s, result in zip(share, results, strict=True)
            )
            state[:] = sum(
                s * result[1] for s, result in zip(share, results, strict=True)
            )
            kernel.fold_into_average(params, int(rows.sum()))
            total += sum(result[2] * result[3] for result in results)
            n_batches += sum(result[3] for result in results)
            n_updates += max(result[3] for result in results)
        return total / max(n_batches, 1), n_updates, True

    def remember_gradients(self, kernel, n_params):
        """Give ``kernel`` SAGA's memory for local epochs on the workers.

        The client keeps only the mean gradient at each epoch's snapshot;
        each task fills its chunk's table of row derivatives there.
        """
        kernel.table_mean = np.zeros(n_params)

    def gram_eigenvalue(self, center, scale, fit_intercept):
        """Return the top eigenvalue of ``A^T S A / n`` over every training row.

        ``A = [(X - center) * scale, 1]`` (the ones with an intercept), ``S``
        the weights relative to the source's unit. Computed on the workers:
        their chunks' Gram matrices for up to ``GRAM_SIZE`` columns, else
        Lanczos with products summed over the chunks. No rows are gathered.
        """
        n_features = scale.shape[0]
        size = n_features + int(fit_intercept)
        center = center if center.shape[0] else np.zeros(n_features)

        def gram(X, Y, weights, rows):
            A, w = _design(X, weights, rows, center, scale, fit_intercept)
            return A.T @ (w[:, None] * A)

        if size <= GRAM_SIZE:
            matrix = sum(self._map(gram)) / self.n_rows
            top = float(np.linalg.eigvalsh((matrix + matrix.T) / 2)[-1])
        else:

            def product(vector):
                vector = np.ravel(vector)

                def part(X, Y, weights, rows):
                    A, w = _design(X, weights, rows, center, scale, fit_intercept)
                    return A.T @ (w * (A @ vector))

                return sum(self._map(part)) / self.n_rows

            operator = LinearOperator((size, size), matvec=product, dtype=np.float64)
            try:
                found = eigsh(
                    operator, k=1, which="LA", tol=LANCZOS_TOL, v0=np.ones(size)
                )[0]
            except ArpackNoConvergence as error:
                found = error.eigenvalues
            top = float(np.max(found, initial=0.0))
        return max(top, 0.0) * GRAM_MARGIN

    def _gather(self, rows):
        """Return the rows ``rows`` of X, computed into memory (not used to train)."""
        return np.asarray(self.X[rows].compute())
