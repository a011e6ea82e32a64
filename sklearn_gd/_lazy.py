"""Just-in-time updates for sparse rows: an update costs the batch's nonzeros.

On CSR data a batch's loss gradient touches only the columns its rows
store, but momentum, the L2 penalty and SAGA's mean gradient move every
coefficient at every update: eagerly, a per-sample epoch over 2^20 columns
cost 1.8 s where the loss gradients cost 3 ms. Between two touches a
coefficient follows a fixed linear rule, so these kernels apply it in
closed form when the coefficient is next read, and to all of them once at
the end of the epoch (Schmidt, Le Roux and Bach, 2017, section 4.1, for
SAGA; the same bookkeeping for momentum). The results equal the eager
kernels' to rounding (``tests/test_kernels.py``).

* **Heavy ball and Nesterov** (``solver='sgd'`` or ``'nesterov'``, no L1,
  one learning rate for the whole epoch): an untouched coefficient ``w``
  with velocity ``v`` sees the gradient ``l2 * w`` only, so ``(w, v)`` is
  multiplied by a 2 x 2 matrix ``M`` at each update; after ``k`` updates
  by ``M^k``, read from a table of powers computed once per epoch.
* **SAGA**: an untouched coefficient's stored mean gradient ``m`` does not
  change, so ``w <- c w - lr m`` with ``c = 1 - lr * l2``; after ``k``
  updates ``c^k w - lr m (1 + c + ... + c^(k-1))``.

The penalty in each batch's objective is that of the coefficients before
the update, as in the eager kernels: its sums over all coefficients
(``sum w^2`` and the cross terms the rule mixes in) follow the same linear
rules, corrected for the coefficients a batch touched.

Reference: M. Schmidt, N. Le Roux and F. Bach, "Minimizing finite sums with
the stochastic average gradient", Mathematical Programming 162 (2017).
"""

import numpy as np
from numba import njit

from ._losses import row_loss_gradient
from ._solvers import COMPILED


def workspace(n_params, n_outputs):
    """Return the array the just-in-time kernels keep between epochs.

    ``last[q]``: the update of the current epoch coefficient ``q`` was last
    brought to. Every epoch ends with all coefficients up to date and
    ``last`` back at zero, so an epoch counts its own updates and 32 bits
    are enough (half the memory, and half the cache lines the updates'
    random reads touch, of a 64-bit count). Kept for a whole fit:
    allocating a vector of 2^20 values every epoch cost more than the
    epoch's updates.
    """
    return np.zeros(n_params - n_outputs, dtype=np.int32)


@njit(**COMPILED)
def _check_workspace(last, n_coef, n_batches):
    """Raise when ``last`` does not fit ``n_coef`` coefficients or the epoch."""
    if last.shape[0] != n_coef:
        raise ValueError("The just-in-time workspace does not fit these parameters.")
    if n_batches >= np.iinfo(np.int32).max:
        raise ValueError("An epoch of 2^31 updates or more cannot run just in time.")


@njit(inline="always", **COMPILED)
def _caught_up_momentum(w, v, powers, lag):
    """Return ``(w, v)`` of an untouched coefficient moved ``lag`` updates by M.

    ``powers[lag]`` holds ``M^lag`` row by row. The helpers of the
    per-nonzero loops return values and leave the stores to the loop:
    written as helpers that stored into the arrays they were given, they
    compiled to code that brought 2^20 coefficients up to date in 15 ms
    instead of 0.4, and doubled the time of an epoch.
    """
    return (
        powers[lag, 0] * w + powers[lag, 1] * v,
        powers[lag, 2] * w + powers[lag, 3] * v,
    )


@njit(inline="always", **COMPILED)
def _momentum_step(w, v, g, lr, beta, nesterov):
    """Return ``(w, v)`` after a heavy-ball or Nesterov step on gradient ``g``."""
    v_new = beta * v + g
    if nesterov:
        return w - lr * (g + beta * v_new), v_new
    return w - lr * v_new, v_new


@njit(inline="always", **COMPILED)
def _momentum_more(w, v, g, lr, beta, nesterov):
    """Return ``(w, v)`` of a step that gets ``g`` more gradient (it is linear)."""
    if nesterov:
        return w - lr * (1.0 + beta) * g, v + g
    return w - lr * g, v + g


@njit(**COMPILED)
def run_epoch_csr_momentum(
    data, indices, indptr, Y, sample_weight, order, batch_size, lr, params,
    state, fit_intercept, loss_code, multinomial, epsilon, nesterov, momentum,
    l2, workspace,
):  # fmt: skip
    """One epoch of heavy-ball (or Nesterov) SGD at one rate, updates just in time.

    The same arithmetic as :func:`sklearn_gd._kernels.run_epoch_csr` with
    ``solver`` 'sgd' or 'nesterov', no L1 and a preconditioner of ones;
    returns ``(mean objective, updates, finite)``. ``workspace`` comes from
    :func:`workspace`.

    A batch is two passes over its rows: the first predicts at the
    batch's starting point (bringing what it reads up to date), the second
    steps each coefficient its rows store. The step is linear in the
    gradient, so a coefficient's first nonzero in the batch takes the whole
    step (momentum, L2, its gradient) and later ones add their gradient
    only: no list of touched coefficients, no vector of gradient sums, and
    a column stored twice in a row is simply two nonzeros.
    """
    n_outputs = Y.shape[1]
    n_coef = params.shape[0] - n_outputs
    n_rows = order.shape[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    beta = momentum
    # M maps (w, v) of an untouched coefficient over one update.
    if nesterov:
        m00, m01 = 1.0 - lr * l2 * (1.0 + beta), -lr * beta * beta
    else:
        m00, m01 = 1.0 - lr * l2, -lr * beta
    m10, m11 = l2, beta
    powers = np.empty((n_batches + 1, 4))
    powers[0, 0], powers[0, 1], powers[0, 2], powers[0, 3] = 1.0, 0.0, 0.0, 1.0
    for k in range(1, n_batches + 1):
        a, b, c, d = (
            powers[k - 1, 0],
            powers[k - 1, 1],
            powers[k - 1, 2],
            powers[k - 1, 3],
        )
        powers[k, 0] = m00 * a + m01 * c
        powers[k, 1] = m00 * b + m01 * d
        powers[k, 2] = m10 * a + m11 * c
        powers[k, 3] = m10 * b + m11 * d
    _check_workspace(workspace, n_coef, n_batches)
    last = workspace  # zero: every coefficient is up to date here
    p = np.empty(n_outputs)
    dp = np.empty(n_outputs)
    derivatives = np.zeros((batch_size, n_outputs))
    intercept_grad = np.zeros(n_outputs)
    # Sums over the coefficients of w^2, w v and v^2 at the current update.
    sww, swv, svv = 0.0, 0.0, 0.0
    for q in range(n_coef):
        w, v = np.float64(params[q]), np.float64(state[0, q])
        sww += w * w
        swv += w * v
        svv += v * v
    objective = 0.0
    n_updates = 0
    scale = 1.0 / batch_size
    for t in range(n_batches):
        now = t
        start = t * batch_size
        stop = min(start + batch_size, n_rows)
        batch_loss = 0.0
        for position in range(start, stop):
            i = order[position]
            weight = np.float64(sample_weight[i])
            if weight == 0.0:
                continue
            for k in range(n_outputs):
                p[k] = params[n_coef + k]
            for nz in range(indptr[i], indptr[i + 1]):
                x = np.float64(data[nz])
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    q = base + k
                    lag = now - last[q]
                    if lag > 0:
                        params[q], state[0, q] = _caught_up_momentum(
                            np.float64(params[q]), np.float64(state[0, q]), powers, lag
                        )
                        last[q] = now
                    p[k] += x * params[q]
            batch_loss += row_loss_gradient(
                Y, i, p, dp, weight, loss_code, multinomial, epsilon
            )
            for k in range(n_outputs):
                derivatives[position - start, k] = dp[k] * scale
                intercept_grad[k] += dp[k] * scale
        penalty = 0.5 * l2 * sww
        # Every coefficient moves by M; the touched ones are corrected below.
        sww, swv, svv = (
            m00 * m00 * sww + 2.0 * m00 * m01 * swv + m01 * m01 * svv,
            m00 * m10 * sww + (m00 * m11 + m01 * m10) * swv + m01 * m11 * svv,
            m10 * m10 * sww + 2.0 * m10 * m11 * swv + m11 * m11 * svv,
        )
        for position in range(start, stop):
            i = order[position]
            if sample_weight[i] == 0.0:
                continue
            for nz in range(indptr[i], indptr[i + 1]):
                x = np.float64(data[nz])
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    q = base + k
                    g = x * derivatives[position - start, k]
                    w, v = np.float64(params[q]), np.float64(state[0, q])
                    if last[q] == now:  # the batch's first nonzero in q
                        before_w, before_v = m00 * w + m01 * v, m10 * w + m11 * v
                        params[q], state[0, q] = _momentum_step(
                            w, v, g + l2 * w, lr, beta, nesterov
                        )
                        last[q] = now + 1
                    else:
                        before_w, before_v = w, v
                        params[q], state[0, q] = _momentum_more(
                            w, v, g, lr, beta, nesterov
                        )
                    w_new, v_new = np.float64(params[q]), np.float64(state[0, q])
                    sww += w_new * w_new - before_w * before_w
                    swv += w_new * v_new - before_w * before_v
                    svv += v_new * v_new - before_v * before_v
        for k in range(n_outputs):
            if fit_intercept:
                q = n_coef + k
                params[q], state[0, q] = _momentum_step(
                    np.float64(params[q]), np.float64(state[0, q]),
                    intercept_grad[k], lr, beta, nesterov,
                )  # fmt: skip
            intercept_grad[k] = 0.0
        batch_objective = batch_loss / (stop - start) + penalty
        if not np.isfinite(batch_objective):
            _flush_momentum(params, state, last, powers, now + 1)
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
    _flush_momentum(params, state, last, powers, n_batches)
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True


@njit(**COMPILED)
def _flush_momentum(params, state, last, powers, t):
    """Bring every coefficient up to update ``t``; the next epoch counts from 0."""
    for q in range(last.shape[0]):
        lag = t - last[q]
        if lag > 0:
            params[q], state[0, q] = _caught_up_momentum(
                np.float64(params[q]), np.float64(state[0, q]), powers, lag
            )
        last[q] = 0


@njit(inline="always", **COMPILED)
def _caught_up_saga(w, m, shrink, summed, lr):
    """Return a coefficient ``w`` moved ``k`` updates at its fixed mean ``m``.

    ``shrink`` and ``summed``: ``c^k`` and ``1 + c + ... + c^(k-1)``.
    """
    return shrink * w - lr * m * summed


@njit(**COMPILED)
def run_epoch_csr_saga(
    data, indices, indptr, Y, sample_weight, order, batch_size, lr, params,
    fit_intercept, loss_code, multinomial, epsilon, l2, table, table_mean,
    workspace,
):  # fmt: skip
    """One epoch of SAGA at one rate, updates just in time.

    The same arithmetic as :func:`sklearn_gd._kernels.run_epoch_csr` with
    SAGA's memory, no L1 and a preconditioner of ones; returns ``(mean
    objective, updates, finite)``. ``order`` holds every training row;
    ``workspace`` comes from :func:`workspace`. Two passes over a batch's
    rows, as in :func:`run_epoch_csr_momentum`.
    """
    n_outputs = Y.shape[1]
    n_coef = params.shape[0] - n_outputs
    n_rows = order.shape[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    c = 1.0 - lr * l2
    shrink = np.empty(n_batches + 1)  # c^k
    summed = np.empty(n_batches + 1)  # 1 + c + ... + c^(k-1)
    shrink[0], summed[0] = 1.0, 0.0
    for k in range(1, n_batches + 1):
        shrink[k] = shrink[k - 1] * c
        summed[k] = summed[k - 1] + shrink[k - 1]
    _check_workspace(workspace, n_coef, n_batches)
    last = workspace  # zero: every coefficient is up to date here
    p = np.empty(n_outputs)
    dp = np.empty(n_outputs)
    changes = np.zeros((batch_size, n_outputs))
    intercept_grad = np.zeros(n_outputs)
    # Sums over the coefficients of w^2, w m and m^2 (m: the stored mean).
    sww, swm, smm = 0.0, 0.0, 0.0
    for q in range(n_coef):
        w, m = np.float64(params[q]), table_mean[q]
        sww += w * w
        swm += w * m
        smm += m * m
    objective = 0.0
    n_updates = 0
    for t in range(n_batches):
        now = t
        start = t * batch_size
        stop = min(start + batch_size, n_rows)
        batch_loss = 0.0
        for position in range(start, stop):
            i = order[position]
            weight = np.float64(sample_weight[i])
            if weight == 0.0:
                continue
            for k in range(n_outputs):
                p[k] = params[n_coef + k]
            for nz in range(indptr[i], indptr[i + 1]):
                x = np.float64(data[nz])
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    q = base + k
                    lag = now - last[q]
                    if lag > 0:
                        params[q] = _caught_up_saga(
                            params[q], table_mean[q], shrink[lag], summed[lag], lr
                        )
                        last[q] = now
                    p[k] += x * params[q]
            batch_loss += row_loss_gradient(
                Y, i, p, dp, weight, loss_code, multinomial, epsilon
            )
            for k in range(n_outputs):
                change = dp[k] - table[i, k]
                table[i, k] = dp[k]
                changes[position - start, k] = change
                intercept_grad[k] += change
        penalty = 0.5 * l2 * sww
        # Every coefficient moves to c w - lr m; the touched ones are corrected.
        sww, swm = (
            c * c * sww - 2.0 * c * lr * swm + lr * lr * smm,
            c * swm - lr * smm,
        )
        for position in range(start, stop):
            i = order[position]
            if sample_weight[i] == 0.0:
                continue
            for nz in range(indptr[i], indptr[i + 1]):
                x = np.float64(data[nz])
                base = indices[nz] * n_outputs
                for k in range(n_outputs):
                    q = base + k
                    change = x * changes[position - start, k]
                    w, m = np.float64(params[q]), table_mean[q]
                    if last[q] == now:  # the batch's first nonzero in q
                        before = c * w - lr * m
                        params[q] = w - lr * (change / batch_size + m + l2 * w)
                        last[q] = now + 1
                    else:
                        before = w
                        params[q] = w - lr * change / batch_size
                    table_mean[q] = m + change / n_rows
                    w_new, m_new = np.float64(params[q]), table_mean[q]
                    sww += w_new * w_new - before * before
                    swm += w_new * m_new - before * m
                    smm += m_new * m_new - m * m
        for k in range(n_outputs):
            q = n_coef + k
            change = intercept_grad[k]
            estimate = change / batch_size + table_mean[q]
            table_mean[q] += change / n_rows
            if fit_intercept:
                params[q] -= lr * estimate
            intercept_grad[k] = 0.0
        batch_objective = batch_loss / (stop - start) + penalty
        if not np.isfinite(batch_objective):
            _flush_saga(params, table_mean, last, shrink, summed, lr, now + 1)
            return batch_objective, n_updates, False
        objective += batch_objective
        n_updates += 1
    _flush_saga(params, table_mean, last, shrink, summed, lr, n_batches)
    if n_updates == 0:
        return 0.0, 0, True
    return objective / n_updates, n_updates, True


@njit(**COMPILED)
def _flush_saga(params, table_mean, last, shrink, summed, lr, t):
    """Bring every coefficient up to update ``t``; the next epoch counts from 0."""
    for q in range(last.shape[0]):
        lag = t - last[q]
        if lag > 0:
            params[q] = _caught_up_saga(
                params[q], table_mean[q], shrink[lag], summed[lag], lr
            )
        last[q] = 0
