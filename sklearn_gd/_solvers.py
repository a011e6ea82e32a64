"""Solver registry: state initialisation and one compiled update step per solver.

Every solver updates a flat float vector of parameters in place from a gradient
``g`` with learning rate ``lr`` (``t`` counts updates, from 0):

=========  =================================================================
sgd        heavy ball: ``v = momentum * v - lr * g;  w += v``
nesterov   ``v = momentum * v - lr * g;  w += momentum * v - lr * g``
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
# Solvers whose step is scaled per coordinate by the gradient history; their
# learning_rate="auto" is a fixed standard rather than 1 / Lipschitz constant.
ADAPTIVE_SOLVERS = ("adagrad", "rmsprop", "adam")
EPS = 1e-8


def init_solver_state(n_params, dtype):
    """Return the solver state: two running moments per parameter, all zero."""
    return np.zeros((2, n_params), dtype=dtype)


@njit(cache=True, nogil=True)
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
):
    """Take one step on ``params[:n_active]`` from ``grad * grad_scale``.

    The first ``n_penalized`` parameters carry the penalty: ``l2 * w`` is added
    to their gradient, and after the step they are soft-thresholded by ``l1``
    times their own step size (the proximal step of the L1 norm). Returns the
    penalty ``l2 / 2 * ||w||^2 + l1 * ||w||_1`` of the parameters before the step.
    """
    penalty = 0.0
    bias_1 = 1.0
    bias_2 = 1.0
    if solver == ADAM:
        bias_1 = 1.0 - momentum ** (t + 1)
        bias_2 = 1.0 - beta_2 ** (t + 1)
    for j in range(n_active):
        w = params[j]
        g = grad[j] * grad_scale
        if j < n_penalized:
            penalty += 0.5 * l2 * w * w + l1 * abs(w)
            g += l2 * w
        if solver == SGD:
            v = momentum * state[0, j] - lr * g
            state[0, j] = v
            w += v
            step = lr
        elif solver == NESTEROV:
            v = momentum * state[0, j] - lr * g
            state[0, j] = v
            w += momentum * v - lr * g
            step = (1.0 + momentum) * lr
        elif solver == ADAGRAD:
            s = state[1, j] + g * g
            state[1, j] = s
            step = lr / (np.sqrt(s) + EPS)
            w -= step * g
        elif solver == RMSPROP:
            s = beta_2 * state[1, j] + (1.0 - beta_2) * g * g
            state[1, j] = s
            step = lr / (np.sqrt(s) + EPS)
            if momentum > 0.0:
                v = momentum * state[0, j] + g / (np.sqrt(s) + EPS)
                state[0, j] = v
                w -= lr * v
            else:
                w -= step * g
        else:  # ADAM
            m = momentum * state[0, j] + (1.0 - momentum) * g
            s = beta_2 * state[1, j] + (1.0 - beta_2) * g * g
            state[0, j] = m
            state[1, j] = s
            step = lr / (np.sqrt(s / bias_2) + EPS)
            w -= step * (m / bias_1)
        if j < n_penalized and l1 > 0.0:
            threshold = step * l1
            if w > threshold:
                shift = -threshold
            elif w < -threshold:
                shift = threshold
            else:
                shift = -w
            w += shift
            # The momentum buffer must carry the proximal shift, or its fixed
            # point solves the problem with a rescaled l1 (see module doc).
            if solver == SGD:
                state[0, j] += shift
            elif solver == NESTEROV:
                state[0, j] += shift / (1.0 + momentum)
            elif solver == RMSPROP and momentum > 0.0 and lr > 0.0:
                state[0, j] -= shift / lr
        params[j] = w
    return penalty
