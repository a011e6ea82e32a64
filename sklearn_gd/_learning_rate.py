"""``learning_rate="auto"``: a step size derived from the data.

For the non-adaptive solvers (sgd, nesterov) the step is the inverse of the
smoothness constant of the objective as seen by one mini-batch:

* ``L_full = c * lambda_max(A^T S A / sum(s)) + l2`` where ``A = [X, 1]`` (the
  column of ones only with an intercept), ``S`` the sample weights and ``c`` the
  loss's curvature bound (1 for squared error, 1/4 for the logistic loss, ...).
  ``lambda_max`` comes from Lanczos iterations.
* ``L_max = c * max_i (s_i / mean(s)) ||a_i||^2 + l2``, the worst single row.
* For batches of ``b`` of ``n`` rows drawn without replacement the expected
  smoothness is ``L_b = n (b - 1) / (b (n - 1)) L_full + (n - b) / (b (n - 1)) L_max``
  (Gower et al., 2019), which is ``L_full`` for full batch and ``L_max`` for ``b = 1``.

Full batch uses ``1 / L_full``: heavy-ball and Nesterov momentum are stable with
it for any momentum in [0, 1). Mini-batches use ``(1 - momentum) / L_b``, so the
effective step ``lr / (1 - momentum)`` of momentum equals plain SGD's safe
``1 / L_b`` and momentum only averages the gradient noise. SAGA, whose
variance-reduced steps carry no momentum, uses ``1 / (3 L_b)`` (Defazio et
al., 2014, for one row a batch).

The adaptive solvers normalise each coordinate's step by its gradient history,
so their first step moves every coordinate by about ``lr``, whatever the
gradient's size. Their step is therefore set in the units of the coefficients:
the largest coordinate move of a safe full-batch gradient step from the
start, ``max_j |g_j(w_0)| / L_full``, times 1 for adagrad (whose steps shrink
as ``1 / sqrt(t)`` by themselves) and 0.03 for rmsprop and adam (which keep
their step size, so start smaller; these factors were chosen on regression
and classification data sets with scaled and unscaled targets). With full
batch rmsprop and adam take 10 times that: the objective is exact there, and
an overshoot is taken back (the fit returns to its best point and halves the
rate), so a bolder start saves epochs. On four 20,000 x 50 data sets
(regression with scaled and with unscaled offset features, balanced and
imbalanced classes) adam then stopped on the default ``tol`` after 39 to 62
epochs instead of 128 to 176, 26 to 230 times closer to the optimum. Adagrad
keeps its factor: 5 times it saved epochs too and brought three nearly
separable points from 17,775 epochs to 4,711, but on a wide Huber problem
(15 x 30) its path became so sensitive to rounding that integer weights and
repeated rows ended 0.08 apart in their predictions (scikit-learn's
sample-weight check), where the factor 1 stays within 1e-6.
RMSprop's momentum sums normalised gradients, so its step also gets
``1 - momentum``. Otherwise the batch size does not enter: a normalised step
is about ``lr`` whatever the gradient's noise, which the running root mean
square already divides out. (With ``L_b`` instead, per-sample adagrad left 15%
of the way from the optimum back to the intercept-only model on 20,000 x 50
imbalanced classes, against 0.014% now.)

Only rows with a positive weight count, and weighted statistics are used, so an
integer weight gives the same step as repeating the row.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ._kernels import _all_ones, csr_squared_row_norms, largest_row_norm

ADAPTIVE_FACTOR = {"adagrad": 1.0, "rmsprop": 0.03, "adam": 0.03}
# Full batch returns to its best point and halves the rate after a rise (see
# sklearn_gd._rules), so rmsprop and adam can start bolder there (adagrad:
# see the module doc).
FULL_BATCH_BOLDNESS = {"adagrad": 1.0, "rmsprop": 10.0, "adam": 10.0}
SAGA_FACTOR = 1.0 / 3.0
_MAX_ROWS_FOR_SPECTRUM = 20_000
_DENSE_SIZE = 64
# Lanczos' relative tolerance: the Ritz value approaches the top eigenvalue
# from below, within 1e-3 at this tolerance on the test spectra (the 2% margin
# below covers it), in 21 products where 1e-4 took 31 to 51.
LANCZOS_TOL = 1e-2
# A margin on the top eigenvalue for Lanczos' tolerance and a sample's statistics.
GRAM_MARGIN = 1.02


class _Transformed:
    """The matrix ``Z = (X - center) * scale`` without forming it (X may be sparse)."""

    def __init__(self, X, center, scale):
        self.X = X
        self.center = center
        self.scale = scale
        # Unconditioned data (sparse mini-batches and streams): its products
        # then cost the stored entries only, not passes over 2^20 coefficients.
        self.plain = not np.any(center) and _all_ones(scale)

    def matvec(self, vector):
        if self.plain:
            return self.X @ vector
        scaled = self.scale * vector
        return self.X @ scaled - float(self.center @ scaled)

    def rmatvec(self, vector):
        if self.plain:
            return self.X.T @ vector
        return self.scale * (self.X.T @ vector - self.center * vector.sum())

    def squared_row_norms(self):
        """Return the squared norm of each row of Z (X sparse; dense X has a kernel)."""
        if self.plain and self.X.has_canonical_format:
            return csr_squared_row_norms(self.X.data, self.X.indptr)
        if self.plain:  # a column stored twice counts once, summed
            return np.asarray(self.X.multiply(self.X).sum(axis=1)).ravel()
        squares = self.scale**2
        plain = np.asarray(self.X.multiply(self.X) @ squares).ravel()
        cross = self.X @ (squares * self.center)
        return plain - 2.0 * cross + float(squares @ self.center**2)


def largest_gram_eigenvalue(Z, weights, fit_intercept):
    """Return the largest eigenvalue of ``A^T diag(weights) A`` with ``A = [Z, 1]``.

    Lanczos (ARPACK) on the operator, which converges in a few products even
    when the spectrum is clustered near its top, where power iteration took 50
    (a standardised 20,000 x 100 sample: 11 ms and 0.08% low, against 21 ms
    and 0.6% low). Small problems form the matrix.
    """
    n_features = Z.scale.shape[0]
    size = n_features + int(fit_intercept)

    def product(vector):
        vector = np.ravel(vector)
        projected = Z.matvec(vector[:n_features])
        if fit_intercept:
            projected = projected + vector[-1]
        weighted = weights * projected
        image = np.empty(size)
        image[:n_features] = Z.rmatvec(weighted)
        if fit_intercept:
            image[-1] = weighted.sum()
        return image

    if size <= _DENSE_SIZE and not sp.issparse(Z.X) and Z.X.shape[0] * size <= 2**18:
        # Small and dense: the matrix itself, in one pass over the rows (a
        # partial_fit block costs 20 products otherwise).
        A = (np.asarray(Z.X, dtype=np.float64) - Z.center) * Z.scale
        if fit_intercept:
            A = np.column_stack([A, np.ones(A.shape[0])])
        gram = A.T @ (weights[:, None] * A)
        eigenvalue = float(np.linalg.eigvalsh((gram + gram.T) / 2)[-1])
    elif size <= _DENSE_SIZE:
        gram = np.column_stack([product(column) for column in np.eye(size)])
        eigenvalue = float(np.linalg.eigvalsh((gram + gram.T) / 2)[-1])
    else:
        n_rows = Z.X.shape[0]
        if n_rows < size:
            # Wide data (text: 2^20 columns, at most 20,000 rows sampled): the
            # same eigenvalue is that of W^1/2 A A^T W^1/2, whose Lanczos
            # vectors have one value a row instead of one a feature (at 2^21
            # columns, ~340 MB of them).
            root = np.sqrt(weights)

            def row_product(vector):
                vector = np.ravel(vector) * root
                image = Z.matvec(Z.rmatvec(vector))
                if fit_intercept:
                    image = image + vector.sum()
                return root * image

            size, product = n_rows, row_product
        operator = LinearOperator((size, size), matvec=product, dtype=np.float64)
        start = np.ones(size)
        try:
            top = eigsh(operator, k=1, which="LA", tol=LANCZOS_TOL, v0=start)[0]
        except ArpackNoConvergence as error:
            top = error.eigenvalues
        eigenvalue = float(np.max(top, initial=0.0))
    return max(eigenvalue, 0.0) * GRAM_MARGIN


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
    b = min(data.batch_size, n_rows)
    l_full, l_max = smoothness_constants(
        data,
        curvature=curvature,
        fit_intercept=fit_intercept,
        l2=l2,
        rng=rng,
        center=center,
        scale=scale,
        # One row a batch: L_b is L_max, and only the adaptive solvers use L_full.
        spectrum=b > 1 or solver in ADAPTIVE_FACTOR,
    )
    smoothness = batch_smoothness(l_full, l_max, n_rows, b)
    if smoothness <= 0.0:
        # All rows are zero and nothing is penalised: any step is safe.
        return 1.0
    if solver in ADAPTIVE_FACTOR:
        factor = ADAPTIVE_FACTOR[solver]
        if b >= n_rows:
            factor *= FULL_BATCH_BOLDNESS[solver]
        if solver == "rmsprop":
            # Its momentum sums normalised gradients: steps grow 1 / (1 - momentum).
            factor *= 1.0 - momentum
        largest = float(np.max(np.abs(initial_gradient()), initial=0.0))
        if largest == 0.0 or not np.isfinite(largest):
            largest = 1.0
        return factor * largest / l_full
    if b >= n_rows:
        return 1.0 / smoothness
    if solver == "saga":
        # Defazio et al. (2014): 1 / (3 L) per sample; L_b for mini-batches.
        return SAGA_FACTOR / smoothness
    return (1.0 - momentum) / smoothness


def smoothness_constants(
    data, *, curvature, fit_intercept, l2, rng, center, scale, max_rows=None,
    mean_weight=1.0, spectrum=True, l_max=None,
):  # fmt: skip
    """Return ``(L_full, L_max)`` of the rows of ``data`` (see module doc).

    ``L_full`` comes from at most ``max_rows`` rows drawn at random
    (``_MAX_ROWS_FOR_SPECTRUM`` by default), ``L_max`` from all of them; on
    dask both come from all rows, computed on the workers.
    ``mean_weight`` is the rows' mean weight relative to the batches' unit:
    1 in a fit, whose weights have mean 1; in ``partial_fit`` the block's
    mean weight relative to the stream's. Without ``spectrum`` ``L_full``
    is None and costs nothing; a given ``l_max`` is not computed again.
    """
    n_rows = data.n_rows
    max_rows = _MAX_ROWS_FOR_SPECTRUM if max_rows is None else max_rows

    def largest_row(X, weights):
        # A row enters a batch's gradient with its weight relative to the mean.
        if sp.issparse(X):
            norms = _Transformed(X, center, scale).squared_row_norms()
            return float(np.max((norms + fit_intercept) * weights, initial=0.0))
        centre = center if np.any(center) else np.zeros(0)
        return largest_row_norm(X, weights, centre, scale**2, float(fit_intercept))

    # max(1, max(scale^2)) without a temporary of the columns' size (scale > 0).
    l2_scaled = l2 * max(1.0, float(np.max(scale, initial=0.0))) ** 2
    if l_max is None:
        l_max = curvature * data.reduce(largest_row, max) + l2_scaled
    if not spectrum:
        return None, l_max
    if hasattr(data, "gram_eigenvalue"):
        # Rows on dask workers: the eigenvalue of all of them, computed there.
        top = data.gram_eigenvalue(center, scale, fit_intercept)
        return curvature * top + l2_scaled, l_max
    if n_rows > max_rows:
        X, weights = data.sample(max_rows, rng)
    else:
        X, weights = data.everything()
    weights = weights.astype(np.float64)
    weights /= weights.sum()
    if mean_weight != 1.0:
        weights *= mean_weight
    Z = _Transformed(X, center, scale)
    l_full = curvature * largest_gram_eigenvalue(Z, weights, fit_intercept) + l2_scaled
    return l_full, l_max


def batch_smoothness(l_full, l_max, n_rows, batch_size):
    """Return ``L_b`` for batches of ``batch_size`` of ``n_rows`` rows (module doc).

    ``l_full`` may be None for one row a batch, where ``L_b`` is ``L_max``.
    """
    if batch_size <= 1:
        return l_max
    if batch_size >= n_rows:
        return l_full
    b = batch_size
    return (n_rows * (b - 1) * l_full + (n_rows - b) * l_max) / (b * (n_rows - 1))
