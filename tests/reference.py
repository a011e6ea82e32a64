"""A small numpy implementation of one training epoch, written from the formulas.

The compiled kernels must match it update for update. It is deliberately plain
and vectorised per batch, sharing no code with the package.
"""

import numpy as np
from scipy.special import log_softmax, softmax


def loss_derivative(loss, Y, P, epsilon):
    """Return (loss per row, dL/dP) for targets Y and raw predictions P."""
    R = P - Y
    Z = Y * P
    if loss == "squared_error":
        return 0.5 * R**2, R
    if loss == "huber":
        inside = np.abs(R) <= epsilon
        value = np.where(inside, 0.5 * R**2, epsilon * np.abs(R) - 0.5 * epsilon**2)
        return value, np.where(inside, R, epsilon * np.sign(R))
    if loss == "epsilon_insensitive":
        excess = np.abs(R) - epsilon
        return np.maximum(excess, 0), np.where(excess > 0, np.sign(R), 0.0)
    if loss == "squared_epsilon_insensitive":
        excess = np.maximum(np.abs(R) - epsilon, 0)
        return excess**2, 2 * excess * np.sign(R)
    if loss == "log_loss":
        return np.logaddexp(0, -Z), -Y * np.exp(-np.logaddexp(0, Z))
    if loss == "hinge":
        return np.maximum(1 - Z, 0), np.where(Z <= 1, -Y, 0.0)
    if loss == "squared_hinge":
        return np.maximum(1 - Z, 0) ** 2, np.where(Z < 1, -2 * Y * (1 - Z), 0.0)
    if loss == "modified_huber":
        value = np.where(Z >= 1, 0.0, np.where(Z >= -1, (1 - Z) ** 2, -4 * Z))
        derivative = np.where(Z >= 1, 0.0, np.where(Z >= -1, -2 * Y * (1 - Z), -4 * Y))
        return value, derivative
    if loss == "perceptron":
        return np.maximum(-Z, 0), np.where(Z <= 0, -Y, 0.0)
    if loss == "multinomial":
        value = -(Y * log_softmax(P, axis=1)).sum(axis=1, keepdims=True)
        return value, softmax(P, axis=1) - Y
    raise ValueError(loss)


def reference_epoch(
    X,
    Y,
    sample_weight,
    order,
    batch_size,
    learning_rates,
    W,
    b,
    state,
    t,
    *,
    fit_intercept,
    loss,
    epsilon,
    solver,
    momentum,
    beta_2,
    l2,
    l1,
    center=None,
    precond=None,
    eps=1e-8,
):
    """Run one epoch in numpy; W is (n_features, n_outputs). Returns the new values.

    With ``center`` the data are ``X - center`` and ``b`` is the intercept of the
    centred data; ``precond`` multiplies every solver's rate per parameter.

    ``state`` holds arrays ``v`` and ``s`` shaped like the parameters (W and b
    stacked as rows). Returns ``(W, b, state, mean objective over batches)``.
    """
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    theta = np.vstack([W, b[None, :]]).astype(np.float64)
    v, s = (np.array(a, dtype=np.float64) for a in state)
    penalized = np.zeros_like(theta, dtype=bool)
    penalized[:-1] = True
    active = np.ones_like(theta, dtype=bool)
    if not fit_intercept:
        active[-1] = False
    mu = np.zeros(X.shape[1]) if center is None or len(center) == 0 else center
    # Per-parameter rate multipliers of sgd / nesterov, shaped like theta.
    rates = np.ones_like(theta) if precond is None else precond.reshape(theta.shape)
    objectives = []
    for batch, start in enumerate(range(0, len(order), batch_size)):
        rows = order[start : start + batch_size]
        Xb, Yb, sb = X[rows] - mu, Y[rows], sample_weight[rows][:, None]
        P = Xb @ theta[:-1] + theta[-1]
        value, dP = loss_derivative(loss, Yb, P, epsilon)
        grad = np.vstack([Xb.T @ (sb * dP), (sb * dP).sum(axis=0)]) / batch_size
        penalty = 0.5 * l2 * (theta[:-1] ** 2).sum() + l1 * np.abs(theta[:-1]).sum()
        objectives.append((sb * value).sum() / len(rows) + penalty)
        grad = grad + l2 * theta * penalized
        lr = learning_rates[batch]
        v_before, s_before = v, s
        if solver == "sgd":
            v = momentum * v + grad
            new = theta - lr * rates * v
            step = lr * rates
        elif solver == "nesterov":
            v = momentum * v + grad
            new = theta - lr * rates * (grad + momentum * v)
            step = (1 + momentum) * lr * rates
        elif solver == "adagrad":
            s = s + grad**2
            step = lr * rates / (np.sqrt(s) + eps)
            new = theta - step * grad
        elif solver == "rmsprop":
            s = beta_2 * s + (1 - beta_2) * grad**2
            step = lr * rates / (np.sqrt(s) + eps)
            if momentum > 0:
                v = momentum * v + grad / (np.sqrt(s) + eps)
                new = theta - lr * rates * v
            else:
                new = theta - step * grad
        elif solver == "adam":
            v = momentum * v + (1 - momentum) * grad
            s = beta_2 * s + (1 - beta_2) * grad**2
            n = t + batch + 1
            step = lr * rates / (np.sqrt(s / (1 - beta_2**n)) + eps)
            new = theta - step * v / (1 - momentum**n)
        else:
            raise ValueError(solver)
        threshold = step * l1
        shrunk = np.sign(new) * np.maximum(np.abs(new) - threshold, 0)
        shift = np.where(penalized & (l1 > 0), shrunk - new, 0.0)
        new = new + shift
        # Momentum buffers absorb the proximal shift.
        if solver in ("sgd", "nesterov"):
            v = v - shift / step
        elif solver == "rmsprop" and momentum > 0:
            v = v - shift / (lr * rates)
        theta = np.where(active, new, theta)
        v = np.where(active, v, v_before)
        s = np.where(active, s, s_before)
    return theta[:-1], theta[-1], (v, s), float(np.mean(objectives))
