"""``learning_rate="auto"``: a step size derived from the data.

For the non-adaptive solvers (sgd, nesterov) the step is the inverse of the
smoothness constant of the objective as seen by one mini-batch:

* ``L_full = c * lambda_max(A^T S A / sum(s)) + l2`` where ``A = [X, 1]`` (the
  column of ones only with an intercept), ``S`` the sample weights and ``c`` the
  loss's curvature bound (1 for squared error, 1/4 for the logistic loss, ...).
  ``lambda_max`` comes from a power iteration.
* ``L_max = c * max_i (s_i / mean(s)) ||a_i||^2 + l2``, the worst single row.
* For batches of ``b`` of ``n`` rows drawn without replacement the expected
  smoothness is ``L_b = n (b - 1) / (b (n - 1)) L_full + (n - b) / (b (n - 1)) L_max``
  (Gower et al., 2019), which is ``L_full`` for full batch and ``L_max`` for ``b = 1``.

Full batch uses ``1 / L_full``: heavy-ball and Nesterov momentum are stable with
it for any momentum in [0, 1). Mini-batches use ``(1 - momentum) / L_b``, so the
effective step ``lr / (1 - momentum)`` of momentum equals plain SGD's safe
``1 / L_b`` and momentum only averages the gradient noise.

The adaptive solvers normalise each coordinate's step by its gradient history,
so their first step moves every coordinate by about ``lr``, whatever the
gradient's size. Their step is therefore set in the units of the coefficients:
the largest coordinate move of a safe plain gradient step from the start,
``max_j |g_j(w_0)| / L_b``, times 1 for adagrad (whose steps shrink as
``1 / sqrt(t)`` by themselves) and 0.03 for rmsprop and adam (which keep
their step size, so start smaller; these factors were chosen on regression
and classification data sets with scaled and unscaled targets). RMSprop's
momentum sums normalised gradients, so its step also gets ``1 - momentum``.

Only rows with a positive weight count, and weighted statistics are used, so an
integer weight gives the same step as repeating the row.
"""

import numpy as np
import scipy.sparse as sp

ADAPTIVE_FACTOR = {"adagrad": 1.0, "rmsprop": 0.03, "adam": 0.03}
_MAX_ROWS_FOR_SPECTRUM = 20_000
_POWER_ITERATIONS = 50


class _Transformed:
    """The matrix ``Z = (X - center) * scale`` without forming it (X may be sparse)."""

    def __init__(self, X, center, scale):
        self.X = X
        self.center = center
        self.scale = scale

    def matvec(self, vector):
        scaled = self.scale * vector
        return self.X @ scaled - float(self.center @ scaled)

    def rmatvec(self, vector):
        return self.scale * (self.X.T @ vector - self.center * vector.sum())

    def squared_row_norms(self):
        squares = self.scale**2
        if sp.issparse(self.X):
            plain = np.asarray(self.X.multiply(self.X) @ squares).ravel()
        else:
            plain = np.einsum("ij,ij,j->i", self.X, self.X, squares)
        cross = self.X @ (squares * self.center)
        return plain - 2.0 * cross + float(squares @ self.center**2)


def largest_gram_eigenvalue(Z, weights, fit_intercept):
    """Return the largest eigenvalue of ``A^T diag(weights) A`` with ``A = [Z, 1]``."""
    n_features = Z.scale.shape[0]
    vector = np.ones(n_features + int(fit_intercept))
    vector /= np.linalg.norm(vector)
    eigenvalue = 0.0
    for _ in range(_POWER_ITERATIONS):
        projected = Z.matvec(vector[:n_features])
        if fit_intercept:
            projected = projected + vector[-1]
        weighted = weights * projected
        image = np.empty_like(vector)
        image[:n_features] = Z.rmatvec(weighted)
        if fit_intercept:
            image[-1] = weighted.sum()
        norm = np.linalg.norm(image)
        if norm == 0.0:
            return 0.0
        previous, eigenvalue = eigenvalue, float(vector @ image)
        vector = image / norm
        if abs(eigenvalue - previous) <= 1e-4 * eigenvalue:
            break
    # The Rayleigh quotient approaches lambda_max from below: keep a margin.
    return eigenvalue * 1.02


def auto_learning_rate(
    data,
    *,
    curvature,
    solver,
    momentum,
    fit_intercept,
    l2,
    initial_gradient,
    rng,
    center,
    scale,
):
    """Return the step size ``learning_rate="auto"`` stands for (see module doc).

    ``data`` is the training loop's data source (``sklearn_gd._data``): its
    rows with a positive weight, of weights with mean 1, and its batch size.
    ``initial_gradient()`` returns the full gradient at the starting
    coefficients (a pass over the data, so it is called only when needed).
    The descent runs on ``(X - center) * scale`` (see the kernels), so the
    smoothness constants are those of that matrix.
    """
    n_rows = data.n_rows

    def largest_row(X, weights):
        # A row enters a batch's gradient with its weight relative to the mean.
        norms = _Transformed(X, center, scale).squared_row_norms() + fit_intercept
        return float(np.max(norms * weights, initial=0.0))

    l2_scaled = l2 * float(np.max(scale**2, initial=1.0))
    l_max = curvature * data.reduce(largest_row, max) + l2_scaled
    if n_rows > _MAX_ROWS_FOR_SPECTRUM:
        positions = np.sort(rng.choice(n_rows, _MAX_ROWS_FOR_SPECTRUM, replace=False))
        X, weights = data.take(positions)
    else:
        X, weights = data.everything()
    weights = weights.astype(np.float64)
    weights /= weights.sum()
    Z = _Transformed(X, center, scale)
    l_full = curvature * largest_gram_eigenvalue(Z, weights, fit_intercept) + l2_scaled
    b = min(data.batch_size, n_rows)
    if b >= n_rows:
        smoothness = l_full
    else:
        smoothness = (n_rows * (b - 1) * l_full + (n_rows - b) * l_max) / (
            b * (n_rows - 1)
        )
    if smoothness <= 0.0:
        # All rows are zero and nothing is penalised: any step is safe.
        return 1.0
    if solver in ADAPTIVE_FACTOR:
        factor = ADAPTIVE_FACTOR[solver]
        if solver == "rmsprop":
            # Its momentum sums normalised gradients: steps grow 1 / (1 - momentum).
            factor *= 1.0 - momentum
        largest = float(np.max(np.abs(initial_gradient()), initial=0.0))
        if largest == 0.0 or not np.isfinite(largest):
            return factor / smoothness
        return factor * largest / smoothness
    if b >= n_rows:
        return 1.0 / smoothness
    return (1.0 - momentum) / smoothness
