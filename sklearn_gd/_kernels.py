"""Compiled epoch kernels: one pass over dense or CSR data, batch by batch.

Parameters live in one flat vector ``params`` of length
``n_features * n_outputs + n_outputs``: the coefficients in feature-major order
(``params[j * n_outputs + k]`` is feature ``j`` of output ``k``) followed by the
intercepts. Feature-major order keeps the inner loop over outputs contiguous.

Per batch the kernel computes the raw predictions of each row, the loss
derivative with respect to them, accumulates the gradient of the weighted mean
loss while the row is in cache, and hands it to
:func:`sklearn_gd._solvers.solver_step`. The kernels never write into ``X``,
``Y`` or ``sample_weight`` (they may be read-only memory maps).

``sample_weight`` must have mean 1 over the rows in ``order``: the gradient of
a batch ``B`` is then ``sum_{i in B} s_i grad L_i / batch_size``, an unbiased
estimate of the gradient of the weighted mean loss, and exactly that gradient
for full batch. A short last batch is divided by ``batch_size`` too, so each
row moves the parameters equally within an epoch. (Normalising by the batch's
own weight sum would make weights meaningless for per-sample SGD.)

Each kernel returns ``(mean objective over the epoch's batches, updates taken,
finite)``; ``finite`` is False when a batch produced a non-finite loss, and the
epoch then stops early so the training loop can restore the last good state.
"""

import numpy as np
from numba import njit

from ._lazy import run_epoch_csr_momentum, run_epoch_csr_saga
from ._losses import loss_and_derivative, row_loss_gradient
from ._solvers import COMPILED, NESTEROV, SGD, solver_step


@njit(cache=True, nogil=True)
def block_order(starts, block, n_rows):
    """Return the rows of the blocks ``[start, start + block)`` in turn, within range.

    One pass instead of numpy's broadcast, mask and copy: the order of a
    shuffled epoch is drawn every epoch, and at small batches that was a
    fifth of the epoch's time.
    """
    order = np.empty(n_rows, dtype=np.intp)
    count = 0
    for start in starts:
        for row in range(max(start, 0), min(start + block, n_rows)):
            order[count] = row
            count += 1
    return order[:count]


@njit(**COMPILED)
def largest_magnitude(values):
    """Return ``max(|values|)`` of a 1-d array in one pass, without a copy."""
    largest = 0.0
    for value in values:
        magnitude = abs(np.float64(value))
        if magnitude > largest:
            largest = magnitude
    return largest


@njit(**COMPILED)
def weighted_moments(X, weights):
    """Return ``(weights @ X, weights @ X**2)`` in float64, in one pass over X."""
    n_features = X.shape[1]
    first = np.zeros(n_features)
    second = np.zeros(n_features)
    for i in range(X.shape[0]):
        weight = np.float64(weights[i])
        if weight == 0.0:
            continue
        for j in range(n_features):
            value = np.float64(X[i, j])
            first[j] += weight * value
            second[j] += weight * value * value
    return first, second


@njit(**COMPILED)
def largest_row_norm(X, weights, center, squares, extra):
    """Return ``max_i weights[i] * (||(x_i - center) * sqrt(squares)||^2 + extra)``.

    ``center`` may be empty (no centring). One pass over X.
    """
    n_features = X.shape[1]
    centred = center.shape[0] > 0
    largest = 0.0
    for i in range(X.shape[0]):
        weight = np.float64(weights[i])
        if weight == 0.0:
            continue
        total = 0.0
        for j in range(n_features):
            value = np.float64(X[i, j])
            if centred:
                value -= center[j]
            total += squares[j] * value * value
        largest = max(largest, weight * (total + extra))
    return largest


@njit(**COMPILED)
def csr_squared_row_norms(data, indptr):
    """Return the squared norm of each row of a canonical CSR matrix (float64).

    One pass over the stored values, which must hold each column of a row
    once; ``X.multiply(X).sum(axis=1)`` made a copy of X and sorted its
    indices first.
    """
    n_rows = indptr.shape[0] - 1
    norms = np.zeros(n_rows)
    for i in range(n_rows):
        total = 0.0
        for nz in range(indptr[i], indptr[i + 1]):
            value = np.float64(data[nz])
            total += value * value
        norms[i] = total
    return norms


@njit(inline="always", **COMPILED)
def _saga_estimate(grad, table_mean, batch_size, n_rows):
    """Turn ``grad``, the batch's sum of derivative changes, into SAGA's estimate.

    With ``a_i`` the stored derivative of row ``i`` (times the row) and
    ``mean = sum_i a_i / n``, the estimate of the gradient is ``sum_{i in
    B} (d_i - a_i) / b + mean``; then ``mean`` takes in the batch's change.
    The solver step then takes ``grad`` with a scale of 1.
    """
    for j in range(grad.shape[0]):
        change = grad[j]
        grad[j] = change / batch_size + table_mean[j]
        table_mean[j] += change / n_rows


@njit(inline="always", **COMPILED)
def _fold_into_average(params, averaged, average_state, rows):
    """Fold the parameters after an update of ``rows`` rows into their average.

    ``average_state`` is ``[updates averaged, rows still to see]``: the
    running (Polyak) average starts with the update that sees the last of
    those rows.
    """
    if average_state[1] > 0.0:
        average_state[1] -= rows
        if average_state[1] > 0.0:
            return
    average_state[0] += 1.0
    weight = 1.0 / average_state[0]
    for j in range(params.shape[0]):
        averaged[j] += (params[j] - averaged[j]) * weight


@njit(**COMPILED)
def run_epoch_dense(
    X,
    Y,
    sample_weight,
    order,
    batch_size,
    learning_rates,
    params,
    state,
    t,
    fit_intercept,
    loss_code,
    multinomial,
    epsilon,
    solver,
    momentum,
    beta_2,
    l2,
    l1,
    center,
    precond,
    table,
    table_mean,
    averaged,
    average_state,
    table_rows=0,
):
    """Run one epoch of mini-batch descent over the rows of dense ``X`` in ``order``.

    With ``center`` (a vector ``mu`` of length n_features, or empty for none)
    the parameters are those of the centred data ``X - mu``: the intercept
    slot holds ``b' = b + mu @ w``, predictions are ``x @ w + b' - mu @ w`` and
    the coefficient gradient is ``sum dL/dp (x - mu)``. The optimum is the same;
    only the descent is better conditioned. ``precond`` is the solver's
    diagonal preconditioner (see :func:`sklearn_gd._solvers.solver_step`).

    With a non-empty ``table`` (one row per row of ``X``, one column per
    output) the batch gradient is SAGA's (Defazio, Bach & Lacoste-Julien,
    2014): the table keeps each row's last weighted loss derivative, and
    ``table_mean`` the mean of the stored gradients, both updated in place
    (see :func:`_saga_estimate`); ``order`` must then hold every training
    row, whose count is the ``n`` of that mean, unless ``table_rows`` (> 0)
    gives ``n``: the table's rows outside ``order`` then keep their values
    (a dask chunk's epoch, whose mean is over every chunk's rows).

    With a non-empty ``averaged`` the parameters after every update are
    folded into their running average (see :func:`_fold_into_average`).
    """
    if Y.shape[1] > 1:
        return _run_epoch_dense_outputs(
            X, Y, sample_weight, order, batch_size, learning_rates, params, state,
            t, fit_intercept, loss_code, multinomial, epsilon, solver, momentum,
            beta_2, l2, l1, center, precond, table, table_mean, averaged,
            average_state, table_rows,
        )  # fmt: skip
    saga = table.shape[0] > 0
    averaging = averaged.shape[0] > 0
    n_features = X.shape[1]
    n_coef = n_features
    n_active = n_coef + 1 if fit_intercept else n_coef
    centred = center.shape[0] > 0
    grad = np.zeros(params.shape[0], dtype=params.dtype)
    n_rows = order.shape[0]
    objective = 0.0
    n_updates = 0
    batch = 0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        grad[:] = 0.0
        batch_loss = 0.0
        offset = params[n_coef]
        if centred:
            for j in range(n_features):
                offset -= center[j] * params[j]
        for position in range(start, stop):
            i = order[position]
            weight = sample_weight[i]
            if weight == 0.0:
                continue
            # One output: scalars only, no per-row array traffic.
            acc = offset
            for j in range(n_features):
                acc += X[i, j] * params[j]
            value, derivative = loss_and_derivative(loss_code, Y[i, 0], acc, epsilon)
            batch_loss += weight * value
            slope = weight * derivative
            if saga:
                slope, table[i, 0] = slope - table[i, 0], slope
            d0 = X.dtype.type(slope)  # keeps a float32 loop float32
            for j in range(n_features):
                grad[j] += X[i, j] * d0
            grad[n_coef] += d0
        if centred:
            for j in range(n_features):
                grad[j] -= center[j] * grad[n_coef]
        lr = learning_rates[batch]
        batch += 1
        # The gradient is divided by the batch size, not by the rows the batch
        # has: a short last batch then moves the parameters in proportion to
        # its rows instead of taking a full step from a few of them.
        scale = 1.0 / batch_size
        if saga:
            mean_rows = table_rows if table_rows > 0 else n_rows
            _saga_estimate(grad, table_mean, batch_size, mean_rows)
            scale = 1.0
        penalty = solver_step(
            solver, params, grad, scale, n_coef, n_active, lr,
            t + n_updates, momentum, beta_2, l2, l1, state, precond,
        )  # fmt: skip
        batch_objective = batch_loss / (stop - start) + penalty
        if not np.isfinite(batch_objective):
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
        if averaging:
            _fold_into_average(params, averaged, average_state, stop - start)
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True


# Rows gathered at a time by the several-output kernel (one matrix product each).
_GATHER_ROWS = 256


@njit(**COMPILED)
def _run_epoch_dense_outputs(
    X, Y, sample_weight, order, batch_size, learning_rates, params, state, t,
    fit_intercept, loss_code, multinomial, epsilon, solver, momentum, beta_2, l2,
    l1, center, precond, table, table_mean, averaged, average_state, table_rows,
):  # fmt: skip
    """:func:`run_epoch_dense` for several outputs, by matrix products.

    Per output and row the work is a dot product and an axpy of length
    n_features, which loops over the outputs do not vectorise well (a
    ten-class epoch took 150 ms where a pass over X takes 7). The batch's
    rows, up to ``_GATHER_ROWS`` at a time, are gathered into a buffer; their
    predictions are one product with the coefficient matrix and their
    gradient one product with the loss derivatives, both BLAS calls.
    """
    n_features = X.shape[1]
    n_outputs = Y.shape[1]
    n_coef = n_features * n_outputs
    n_active = n_coef + n_outputs if fit_intercept else n_coef
    centred = center.shape[0] > 0
    saga = table.shape[0] > 0
    averaging = averaged.shape[0] > 0
    dtype = params.dtype
    grad = np.zeros(params.shape[0], dtype=dtype)
    block = min(batch_size, _GATHER_ROWS)
    rows = np.empty((block, n_features), dtype=dtype)
    scores = np.empty((block, n_outputs), dtype=dtype)
    slopes = np.empty((block, n_outputs), dtype=dtype)
    block_grad = np.empty((n_features, n_outputs), dtype=dtype)
    offset = np.zeros(n_outputs, dtype=dtype)
    n_rows = order.shape[0]
    objective = 0.0
    n_updates = 0
    batch = 0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        grad[:] = 0.0
        batch_loss = 0.0
        coef = params[:n_coef].reshape(n_features, n_outputs)
        for k in range(n_outputs):
            offset[k] = params[n_coef + k]
        if centred:
            for j in range(n_features):
                for k in range(n_outputs):
                    offset[k] -= center[j] * coef[j, k]
        for first in range(start, stop, block):
            size = min(first + block, stop) - first
            for r in range(size):
                i = order[first + r]
                for j in range(n_features):
                    rows[r, j] = X[i, j]
            np.dot(rows[:size], coef, scores[:size])
            for r in range(size):
                i = order[first + r]
                weight = sample_weight[i]
                if weight == 0.0:
                    slopes[r, :] = 0.0
                    continue
                p = scores[r]
                for k in range(n_outputs):
                    p[k] += offset[k]
                batch_loss += row_loss_gradient(
                    Y, i, p, slopes[r], weight, loss_code, multinomial, epsilon
                )
                if saga:
                    for k in range(n_outputs):
                        slope = slopes[r, k]
                        slopes[r, k] = slope - table[i, k]
                        table[i, k] = slope
                for k in range(n_outputs):
                    grad[n_coef + k] += slopes[r, k]
            np.dot(rows[:size].T, slopes[:size], block_grad)
            for j in range(n_features):
                for k in range(n_outputs):
                    grad[j * n_outputs + k] += block_grad[j, k]
        if centred:
            for j in range(n_features):
                base = j * n_outputs
                for k in range(n_outputs):
                    grad[base + k] -= center[j] * grad[n_coef + k]
        lr = learning_rates[batch]
        batch += 1
        scale = 1.0 / batch_size
        if saga:
            mean_rows = table_rows if table_rows > 0 else n_rows
            _saga_estimate(grad, table_mean, batch_size, mean_rows)
            scale = 1.0
        penalty = solver_step(
            solver, params, grad, scale, n_coef, n_active, lr,
            t + n_updates, momentum, beta_2, l2, l1, state, precond,
        )  # fmt: skip
        batch_objective = batch_loss / (stop - start) + penalty
        if not np.isfinite(batch_objective):
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
        if averaging:
            _fold_into_average(params, averaged, average_state, stop - start)
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True


@njit(**COMPILED)
def _all_ones(values):
    """Return True when every value is 1 (without the temporary ``values == 1``)."""
    for value in values:
        if value != 1.0:
            return False
    return True


@njit(**COMPILED)
def run_epoch_csr(
    data,
    indices,
    indptr,
    Y,
    sample_weight,
    order,
    batch_size,
    learning_rates,
    params,
    state,
    t,
    fit_intercept,
    loss_code,
    multinomial,
    epsilon,
    solver,
    momentum,
    beta_2,
    l2,
    l1,
    precond,
    table,
    table_mean,
    averaged,
    average_state,
    workspace,
):
    """Run one epoch of mini-batch descent over the rows of a CSR matrix in ``order``.

    Predictions and gradients touch only the stored entries of each row, and
    so do the steps where a closed form exists: plain SGD without L1 takes
    :func:`_run_epoch_csr_scaled`; heavy ball, Nesterov and SAGA without L1,
    at one learning rate for the epoch, take the just-in-time kernels of
    :mod:`sklearn_gd._lazy`. Otherwise (L1, the adaptive solvers, a rate
    that changes within the epoch, averaging) every coefficient is updated
    at every batch. ``table`` and ``table_mean``: SAGA, and ``averaged``:
    the running average, as in :func:`run_epoch_dense`. ``workspace``:
    :func:`sklearn_gd._lazy.workspace`, kept by the caller for the fit.
    """
    saga = table.shape[0] > 0
    averaging = averaged.shape[0] > 0
    plain = _all_ones(precond)
    if (
        solver == SGD
        and momentum == 0.0
        and l1 == 0.0
        and not saga
        and not averaging
        and plain
    ):
        return _run_epoch_csr_scaled(
            data, indices, indptr, Y, sample_weight, order, batch_size,
            learning_rates, params, fit_intercept, loss_code, multinomial,
            epsilon, l2,
        )  # fmt: skip
    lazy = (
        l1 == 0.0
        and not averaging
        and plain
        and np.all(learning_rates == learning_rates[0])
    )
    if lazy and saga and solver == SGD:
        return run_epoch_csr_saga(
            data, indices, indptr, Y, sample_weight, order, batch_size,
            learning_rates[0], params, fit_intercept, loss_code, multinomial,
            epsilon, l2, table, table_mean, workspace,
        )  # fmt: skip
    if lazy and not saga and (solver == SGD or solver == NESTEROV) and momentum > 0:
        return run_epoch_csr_momentum(
            data, indices, indptr, Y, sample_weight, order, batch_size,
            learning_rates[0], params, state, fit_intercept, loss_code,
            multinomial, epsilon, solver == NESTEROV, momentum, l2, workspace,
        )  # fmt: skip
    return _run_epoch_csr_eager(
        data, indices, indptr, Y, sample_weight, order, batch_size,
        learning_rates, params, state, t, fit_intercept, loss_code, multinomial,
        epsilon, solver, momentum, beta_2, l2, l1, precond, table, table_mean,
        averaged, average_state,
    )  # fmt: skip


@njit(**COMPILED)
def _run_epoch_csr_eager(
    data,
    indices,
    indptr,
    Y,
    sample_weight,
    order,
    batch_size,
    learning_rates,
    params,
    state,
    t,
    fit_intercept,
    loss_code,
    multinomial,
    epsilon,
    solver,
    momentum,
    beta_2,
    l2,
    l1,
    precond,
    table,
    table_mean,
    averaged,
    average_state,
):
    """:func:`run_epoch_csr` with every coefficient updated at every batch."""
    saga = table.shape[0] > 0
    averaging = averaged.shape[0] > 0
    n_outputs = Y.shape[1]
    n_coef = params.shape[0] - n_outputs
    n_active = n_coef + n_outputs if fit_intercept else n_coef
    grad = np.zeros(params.shape[0], dtype=params.dtype)
    p = np.empty(n_outputs, dtype=params.dtype)
    dp = np.empty(n_outputs, dtype=params.dtype)
    n_rows = order.shape[0]
    objective = 0.0
    n_updates = 0
    batch = 0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        grad[:] = 0.0
        batch_loss = 0.0
        for position in range(start, stop):
            i = order[position]
            weight = sample_weight[i]
            if weight == 0.0:
                continue
            for k in range(n_outputs):
                p[k] = params[n_coef + k]
            for nz in range(indptr[i], indptr[i + 1]):
                xij = data[nz]
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    p[k] += xij * params[base + k]
            batch_loss += row_loss_gradient(
                Y, i, p, dp, weight, loss_code, multinomial, epsilon
            )
            if saga:
                for k in range(n_outputs):
                    dp[k], table[i, k] = dp[k] - table[i, k], dp[k]
            for nz in range(indptr[i], indptr[i + 1]):
                xij = data[nz]
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    grad[base + k] += xij * dp[k]
            for k in range(n_outputs):
                grad[n_coef + k] += dp[k]
        lr = learning_rates[batch]
        batch += 1
        # The gradient is divided by the batch size, not by the rows the batch
        # has: a short last batch then moves the parameters in proportion to
        # its rows instead of taking a full step from a few of them.
        scale = 1.0 / batch_size
        if saga:
            _saga_estimate(grad, table_mean, batch_size, n_rows)
            scale = 1.0
        penalty = solver_step(
            solver, params, grad, scale, n_coef, n_active, lr,
            t + n_updates, momentum, beta_2, l2, l1, state, precond,
        )  # fmt: skip
        batch_objective = batch_loss / (stop - start) + penalty
        if not np.isfinite(batch_objective):
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
        if averaging:
            _fold_into_average(params, averaged, average_state, stop - start)
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True


@njit(**COMPILED)
def _run_epoch_csr_scaled(
    data,
    indices,
    indptr,
    Y,
    sample_weight,
    order,
    batch_size,
    learning_rates,
    params,
    fit_intercept,
    loss_code,
    multinomial,
    epsilon,
    l2,
):
    """Plain SGD with an L2 penalty on CSR rows, in time proportional to the nonzeros.

    The coefficients are kept as ``scale * v`` (the trick of scikit-learn's
    ``SGDRegressor``): the L2 shrinkage ``w *= 1 - lr * l2`` of every step is
    one multiplication of ``scale``, and the loss gradient changes ``v`` only
    at the batch's stored entries. ``||v||^2`` is kept up to date for the
    penalty. The result equals the dense update ``w -= lr * (g + l2 * w)``.
    """
    n_outputs = Y.shape[1]
    n_coef = params.shape[0] - n_outputs
    v = params[:n_coef]  # scaled in place; a copy was one more vector a pass
    scale = 1.0
    squared_norm = 0.0
    for j in range(n_coef):
        squared_norm += v[j] * v[j]
    p = np.empty(n_outputs, dtype=params.dtype)
    dp = np.empty(n_outputs, dtype=params.dtype)
    batch_dp = np.empty((batch_size, n_outputs), dtype=np.float64)
    intercept_grad = np.empty(n_outputs, dtype=np.float64)
    n_rows = order.shape[0]
    objective = 0.0
    n_updates = 0
    batch = 0
    row_dot = 0.0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        batch_loss = 0.0
        intercept_grad[:] = 0.0
        for position in range(start, stop):
            i = order[position]
            if n_outputs == 1:
                acc = 0.0
                for nz in range(indptr[i], indptr[i + 1]):
                    acc += data[nz] * v[indices[nz]]
                p[0] = acc
                row_dot = acc
            else:
                for k in range(n_outputs):
                    p[k] = 0.0
                for nz in range(indptr[i], indptr[i + 1]):
                    xij = data[nz]
                    base = indices[nz] * n_outputs
                    for k in range(n_outputs):
                        p[k] += xij * v[base + k]
            for k in range(n_outputs):
                p[k] = scale * p[k] + params[n_coef + k]
            batch_loss += row_loss_gradient(
                Y, i, p, dp, sample_weight[i], loss_code, multinomial, epsilon
            )
            for k in range(n_outputs):
                batch_dp[position - start, k] = dp[k]
                intercept_grad[k] += dp[k]
        lr = learning_rates[batch]
        batch += 1
        rows_in_batch = stop - start
        penalty = 0.5 * l2 * scale * scale * squared_norm
        batch_objective = batch_loss / rows_in_batch + penalty
        if not np.isfinite(batch_objective):
            params[:n_coef] = scale * v
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
        scale *= 1.0 - lr * l2
        if scale < 1e-9:
            # Fold the scale back into v before it underflows.
            for j in range(n_coef):
                v[j] *= scale
            squared_norm *= scale * scale
            scale = 1.0
        step = lr / (batch_size * scale)  # as the other kernels: by the batch size
        for position in range(start, stop):
            i = order[position]
            if n_outputs == 1 and rows_in_batch == 1:
                # ||v - f x||^2 = ||v||^2 - 2 f <v, x> + f^2 ||x||^2, and <v, x> is
                # the prediction's dot product: no serial sum over the entries.
                factor = step * batch_dp[0, 0]
                if factor == 0.0:  # a margin loss with the row on the right side
                    continue
                row_squared_norm = 0.0
                for nz in range(indptr[i], indptr[i + 1]):
                    xij = data[nz]
                    row_squared_norm += xij * xij
                    v[indices[nz]] -= factor * xij
                squared_norm += factor * (factor * row_squared_norm - 2.0 * row_dot)
                continue
            for nz in range(indptr[i], indptr[i + 1]):
                xij = data[nz]
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    old = v[base + k]
                    new = old - step * xij * batch_dp[position - start, k]
                    v[base + k] = new
                    squared_norm += new * new - old * old
        if fit_intercept:
            for k in range(n_outputs):
                params[n_coef + k] -= lr * intercept_grad[k] / batch_size
    for j in range(n_coef):
        params[j] = scale * v[j]
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True
