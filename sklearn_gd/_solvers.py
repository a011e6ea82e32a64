"""Solver registry: state initialisation and one compiled update step per solver.

Every solver updates a flat float vector of parameters in place from a gradient
``g`` with learning rate ``lr`` (``t`` counts updates, from 0):

=========  =================================================================
sgd        heavy ball: ``v = momentum * v + g;  w -= lr * v``
nesterov   ``v = momentum * v + g;  w -= lr * (g + momentum * v)``
adagrad    ``G += g**2;  w -= lr * g / (sqrt(G) + eps)``
rmsprop    ``s = beta_2 * s + (1 - beta_2) * g**2``; with momentum
           ``v = momentum * v + g / (sqrt(s) + eps);  w -= lr * v``,
           else ``w -= lr * g / (sqrt(s) + eps)``
adam       ``m = momentum * m + (1 - momentum) * g;
           s = beta_2 * s + (1 - beta_2) * g**2;
           w -= lr * m_hat / (sqrt(s_hat) + eps)`` with bias corrections
           ``m_hat = m / (1 - momentum**(t+1))``, ``s_hat = s / (1 - beta_2**(t+1))``
=========  =================================================================

With an L1 penalty each step ends with a soft-threshold of the coefficients by
``l1`` times the solver's step (``lr`` for sgd, ``(1 + momentum) * lr`` for
nesterov, ``lr / (sqrt(s) + eps)`` per coordinate for the adaptive solvers), and
the momentum buffer absorbs the shift this makes. Only then is a fixed point of
the iteration (zero velocity) a solution of the penalised problem itself;
without it momentum would solve the problem for ``l1 * (1 - momentum)``.

The velocity ``v`` is kept in gradient units and the learning rate applied at
the step (PyTorch's convention): with a constant rate this is the same
iteration as ``v = momentum * v - lr * g; w += v``, but when a schedule
lowers the rate the step shrinks at once instead of coasting on velocity
gathered at the old rate (with a rate annealed to 0 the iterate stops).

The same :func:`solver_step` trains the estimators and runs
:func:`sklearn_gd.minimize`, so there is one Adam in the code base.
"""

import numpy as np
from numba import njit

SGD = 0
NESTEROV = 1
ADAGRAD = 2
RMSPROP = 3
ADAM = 4

SOLVERS = {
    "sgd": SGD,
    "nesterov": NESTEROV,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "adam": ADAM,
}
EPS = 1e-8


def init_solver_state(n_params, dtype, solver=None):
    """Return the solver state, all zero: a row per running moment it keeps.

    A velocity or first moment (row 0) and, for Adagrad, RMSprop and Adam,
    a second moment (row 1); see :func:`state_rows`.
    """
    return np.zeros((state_rows(solver), n_params), dtype=dtype)


def state_rows(solver):
    """Return the rows of state ``solver`` uses; None: every row.

    Only the adaptive solvers keep a second moment; heavy ball, Nesterov,
    and the SAGA and accelerated fits (whose steps are sgd's), a velocity.
    """
    return 2 if solver is None or solver in ("adagrad", "rmsprop", "adam") else 1


FASTMATH = {"reassoc", "contract"}
# How every compiled loop is built: cached, free of the GIL, with reductions
# reassociated and fused, and with NumPy's error model, without which each
# division carries a zero check that keeps the loop from vectorising (Adam's
# step: 4.5 -> 1.3 ms for 6,250 steps of 101 parameters).
COMPILED = {
    "cache": True,
    "nogil": True,
    "fastmath": FASTMATH,
    "error_model": "numpy",
}


@njit(inline="always", **COMPILED)
def _shrink(w, threshold):
    """Return the soft-threshold of ``w`` by ``threshold`` (the L1 prox)."""
    if w > threshold:
        return w - threshold
    if w < -threshold:
        return w + threshold
    return 0.0


@njit(inline="always", **COMPILED)
def _step_range(
    solver, params, grad, grad_scale, start, stop, lr, momentum, beta_2,
    bias_1, bias_2, l2, l1, state, precond,
):  # fmt: skip
    """Update ``params[start:stop]``; ``l2`` and ``l1`` are 0 for unpenalised ones.

    One loop per solver, free of branches on the solver, so LLVM can vectorise
    it; the L1 branch is taken only when ``l1 > 0``.
    """
    if solver == SGD:
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            rate = lr * precond[j]
            v = momentum * state[0, j] + g
            w = params[j] - rate * v
            if l1 > 0.0 and rate > 0.0:
                shifted = _shrink(w, rate * l1)
                v -= (shifted - w) / rate
                w = shifted
            state[0, j] = v
            params[j] = w
    elif solver == NESTEROV:
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            rate = lr * precond[j]
            v = momentum * state[0, j] + g
            w = params[j] - rate * (g + momentum * v)
            if l1 > 0.0 and rate > 0.0:
                look = (1.0 + momentum) * rate
                shifted = _shrink(w, look * l1)
                v -= (shifted - w) / look
                w = shifted
            state[0, j] = v
            params[j] = w
    elif solver == ADAGRAD:
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            s = state[1, j] + g * g
            step = lr * precond[j] / (np.sqrt(s) + EPS)
            w = params[j] - step * g
            if l1 > 0.0:
                w = _shrink(w, step * l1)
            state[1, j] = s
            params[j] = w
    elif solver == RMSPROP:
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            s = beta_2 * state[1, j] + (1.0 - beta_2) * g * g
            root = np.sqrt(s) + EPS
            rate = lr * precond[j]
            state[1, j] = s
            if momentum > 0.0:
                v = momentum * state[0, j] + g / root
                w = params[j] - rate * v
                if l1 > 0.0 and rate > 0.0:
                    shifted = _shrink(w, rate / root * l1)
                    v -= (shifted - w) / rate
                    w = shifted
                state[0, j] = v
            else:
                w = params[j] - rate / root * g
                if l1 > 0.0:
                    w = _shrink(w, rate / root * l1)
            params[j] = w
    elif l1 > 0.0:  # ADAM with the L1 prox
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            m = momentum * state[0, j] + (1.0 - momentum) * g
            s = beta_2 * state[1, j] + (1.0 - beta_2) * g * g
            step = lr * precond[j] / (np.sqrt(s / bias_2) + EPS)
            state[0, j] = m
            state[1, j] = s
            params[j] = _shrink(params[j] - step * (m / bias_1), step * l1)
    else:  # ADAM without the prox; the bias corrections folded into two scalars
        root_bias_2 = np.sqrt(bias_2)
        rate = lr * root_bias_2 / bias_1
        eps = EPS * root_bias_2
        for j in range(start, stop):
            g = grad[j] * grad_scale + l2 * params[j]
            m = momentum * state[0, j] + (1.0 - momentum) * g
            s = beta_2 * state[1, j] + (1.0 - beta_2) * g * g
            state[0, j] = m
            state[1, j] = s
            params[j] -= rate * precond[j] * m / (np.sqrt(s) + eps)


@njit(**COMPILED)
def solver_step(
    solver,
    params,
    grad,
    grad_scale,
    n_penalized,
    n_active,
    lr,
    t,
    momentum,
    beta_2,
    l2,
    l1,
    state,
    precond,
):
    """Take one step on ``params[:n_active]`` from ``grad * grad_scale``.

    The first ``n_penalized`` parameters carry the penalty: ``l2 * w`` is added
    to their gradient, and after the step they are soft-thresholded by ``l1``
    times their own step size (the proximal step of the L1 norm).
    ``precond[j]`` multiplies the learning rate of parameter ``j`` (a diagonal
    preconditioner; ones for the textbook update). Returns the
    penalty ``l2 / 2 * ||w||^2 + l1 * ||w||_1`` of the parameters before the step.
    """
    penalty = 0.0
    for j in range(n_penalized):
        w = params[j]
        penalty += 0.5 * l2 * w * w + l1 * abs(w)
    bias_1 = 1.0
    bias_2 = 1.0
    if solver == ADAM:
        bias_1 = 1.0 - momentum ** (t + 1)
        bias_2 = 1.0 - beta_2 ** (t + 1)
    _step_range(
        solver, params, grad, grad_scale, 0, n_penalized, lr, momentum, beta_2,
        bias_1, bias_2, l2, l1, state, precond,
    )  # fmt: skip
    _step_range(
        solver, params, grad, grad_scale, n_penalized, n_active, lr, momentum,
        beta_2, bias_1, bias_2, 0.0, 0.0, state, precond,
    )  # fmt: skip
    return penalty
