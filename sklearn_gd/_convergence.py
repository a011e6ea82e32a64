"""How far a fit is from its optimum: the estimate behind ``tol`` and the warning.

A full-batch epoch sees the exact objective ``f`` and its gradient at the
point it starts from, and from them bounds the distance to the optimum
``f*`` without knowing it (liblinear and skglm stop on such a bound too):

* With an L2 part ``mu = alpha * (1 - l1_ratio) > 0`` the objective is
  ``mu``-strongly convex in the coefficients, so

      f - f*  <=  ||s||^2 / (2 mu),

  where ``s`` is the smallest subgradient: the gradient of the smooth part
  plus ``l1 * sign(w)`` on the nonzero coefficients, and the gradient
  soft-thresholded by ``l1`` on the zero ones. The intercept is not
  penalised; it enters with the same ``mu``, which is safe when the loss's
  own curvature along the intercept is at least ``alpha`` (always for the
  squared error, whose intercept curvature is 1; for the logistic loss
  unless nearly every row is classified with certainty).
* For the squared error the elastic-net duality gap is used instead when it
  is smaller, and is the only bound when ``mu = 0`` (Lasso): the
  residuals, rescaled to be dual-feasible, give a dual objective ``D`` with
  ``f - f* <= f - D`` (the gap scikit-learn's coordinate descent stops on).
  It needs only the loss, the gradient and the coefficients.
* Otherwise (no L2 part with a loss other than the squared error, or no
  penalty at all) nothing is certified and the estimate is ``nan``: such
  fits stop when the objective stops improving by ``tol`` times itself, and
  warn only at ``max_iter``.

``tol`` is a bound on the relative gap ``(f - f*) / f*``: the bound ``B`` on
``f - f*`` becomes ``B / (f - B)``, since ``f* >= f - B``. Mini-batch
epochs only see noisy estimates: SAGA's mean of stored gradients screens
and one exact pass confirms; the other solvers stop on a plateau and are
judged once, at their end, by one exact pass. A fit whose estimate is above
``tol`` when it ends (at ``max_iter``, on a plateau, by a callback or an
interruption) says so with a :class:`~sklearn.exceptions.ConvergenceWarning`
that gives the estimate. :class:`Judge` holds these decisions for the
training loop.
"""

import numpy as np

from ._losses import SQUARED_ERROR
from ._rules import rose


def smallest_subgradient(gradient, params, n_coef, l1):
    """Return the smallest element of the subdifferential of ``f`` at ``params``.

    ``gradient`` is the gradient of the smooth part (the loss and the L2
    part); the first ``n_coef`` parameters carry the L1 part ``l1 * ||w||_1``.
    """
    subgradient = np.array(gradient, dtype=np.float64)
    if l1 > 0.0:
        coef = params[:n_coef]
        g = subgradient[:n_coef]
        at_zero = coef == 0.0
        g[~at_zero] += l1 * np.sign(coef[~at_zero])
        g[at_zero] = np.sign(g[at_zero]) * np.maximum(np.abs(g[at_zero]) - l1, 0.0)
    return subgradient


def squared_error_duality_gap(objective, gradient, params, n_coef, l2, l1):
    """Return the elastic-net duality gap of the weighted squared error.

    ``objective = loss + l2 / 2 ||w||^2 + l1 ||w||_1`` with ``loss = mean_i
    s_i r_i^2 / 2`` (weights of mean 1, residuals ``r``), and ``gradient``
    its smooth gradient. The dual point is the residuals times ``kappa`` (1,
    or less to bring ``X^T r / n`` within the L1 ball when ``l2 = 0``); with
    the loss part ``g`` of the gradient, ``mean s r y = 2 loss - w . g`` (the
    residuals sum to zero at the best intercept), so

        D = kappa (2 loss - w . g) - kappa^2 loss - h*(-kappa g),

    ``h*`` the conjugate of the penalty. The intercept's own gradient ``g_b``
    adds ``g_b^2 / 2`` (its curvature is 1).
    """
    gradient = np.asarray(gradient, dtype=np.float64)
    params = np.asarray(params, dtype=np.float64)
    coef = params[:n_coef]
    loss_gradient = gradient[:n_coef] - l2 * coef
    loss = objective - 0.5 * l2 * float(coef @ coef) - l1 * float(np.abs(coef).sum())
    largest = float(np.max(np.abs(loss_gradient), initial=0.0))
    if l2 > 0.0:
        kappa = 1.0
        excess = np.maximum(np.abs(loss_gradient) - l1, 0.0)
        conjugate = float(excess @ excess) / (2.0 * l2)
    else:
        kappa = 1.0 if largest <= l1 else l1 / largest
        conjugate = 0.0
    # kappa < 1 only where l2 = 0, so the conjugate (nonzero only with l2 > 0)
    # is that of kappa = 1.
    dual = kappa * (2.0 * loss - float(coef @ loss_gradient)) - kappa**2 * loss
    dual -= conjugate
    intercept_gradient = gradient[n_coef:]
    return max(objective - dual, 0.0) + 0.5 * float(
        intercept_gradient @ intercept_gradient
    )


def gap_bound(objective, gradient, params, n_coef, l2, l1, squared_error):
    """Return a bound on ``f - f*`` at ``params`` (module doc), or ``nan``."""
    bounds = []
    if l2 > 0.0:
        subgradient = smallest_subgradient(gradient, params, n_coef, l1)
        bounds.append(float(subgradient @ subgradient) / (2.0 * l2))
    if squared_error:
        bounds.append(
            squared_error_duality_gap(objective, gradient, params, n_coef, l2, l1)
        )
    return min(bounds, default=np.nan)


def relative_gap_bound(objective, bound):
    """Return the bound ``bound`` on ``f - f*`` as one on ``(f - f*) / f*``."""
    if np.isnan(bound):
        return np.nan
    if bound == 0.0:
        return 0.0
    lowest = objective - bound
    if lowest <= 0.0:
        return np.inf
    return bound / lowest


def convergence_message(estimate, tol, reason, full_batch, solver):
    """Return the ConvergenceWarning text for a fit that ended above ``tol``."""
    if np.isnan(estimate):
        measured = "its distance to the optimum could not be estimated"
    elif np.isinf(estimate):
        measured = (
            "its gradient is still too large for any bound on its distance to "
            f"the optimum (tol={tol:g})"
        )
    else:
        measured = (
            f"its objective is at most {estimate:.2g} above the optimum (relative), "
            f"above tol={tol:g}"
        )
    if full_batch and solver != "accelerated":
        advice = (
            f"solver={solver!r} converges slowly here: use solver='auto', whose "
            "accelerated rule needs far fewer epochs, or increase max_iter"
        )
    elif full_batch:
        advice = (
            "Increase max_iter, or scale the features if they are not (e.g. with "
            "StandardScaler)"
        )
    elif solver == "saga":
        advice = (
            "SAGA needs about (rows / batch_size + condition number) updates an "
            "e-fold, many epochs on small or ill-conditioned data: increase "
            "max_iter, or use batch_size='full', whose default solver needs fewer"
        )
    else:
        advice = (
            "Mini-batches end at the level of their gradient noise: use "
            "batch_size='full', whose default solver converges to the optimum, "
            "or a larger batch_size"
        )
    return (
        f"The fit ended ({reason}) before it converged: {measured}. {advice}; "
        "gap_estimate_ holds the estimate."
    )


class GapEstimate:
    """How far the points a full-batch fit evaluates are from the optimum.

    :meth:`observe` takes the exact objective and smooth gradient at a point
    and keeps the lowest objective seen (the point a full-batch fit returns)
    and a cheap bound that treats the intercept like a coefficient. That
    bound is only valid when the loss curves along the intercept at least as
    much as ``alpha``; on nearly separable classes it does not (digits at
    ``alpha=1e-4``: 6e-5 against a true 4.9e-4). So before a fit stops on
    it, :meth:`estimate` profiles the intercept out: ``phi(w) = min_b J(w,
    b)`` is ``mu``-strongly convex (partial minimisation keeps that), and

        J(w, b) - J* = [J(w, b) - phi(w)] + [phi(w) - phi*]
                    ~= g_b' H_bb^-1 g_b / 2 + ||s(g_w - H_wb H_bb^-1 g_b)||^2 / (2 mu)

    where ``H_bb`` and ``H_wb`` are the Hessian's intercept columns, from one
    extra gradient per intercept (a finite difference), and ``s`` is the
    smallest subgradient. The first term is second order in ``g_b``; the
    second is a bound once the intercept is optimal. With a fixed or exact
    intercept only the second term remains, and it is a bound.
    """

    def __init__(
        self, n_coef, l2, l1, squared_error, smooth, train_intercept, gradient_at
    ):
        self.n_coef = n_coef
        self.l2 = l2
        self.l1 = l1
        self.squared_error = squared_error
        self.smooth = smooth
        self.train_intercept = train_intercept
        self.gradient_at = gradient_at
        self.best = None
        self.screened = np.inf  # the cheap relative bound of the last point

    @property
    def certified(self):
        """Whether the gradient says anything about the gap at all.

        It needs the L2 part's strong convexity, or for the squared error an
        L1 part to make the scaled residuals dual-feasible; without either
        (no penalty) nothing bounds the gap.
        """
        return self.smooth and (self.l2 > 0.0 or (self.squared_error and self.l1 > 0.0))

    def _gradient(self, gradient, *, own=False):
        """Return ``gradient`` in float64 without the intercept's part where that
        is not trained: a copy, or with ``own`` the array itself when it is
        float64 (the caller gives it up)."""
        if own:
            gradient = np.asarray(gradient, dtype=np.float64)
        else:
            gradient = np.array(gradient, dtype=np.float64)
        if not self.train_intercept:
            gradient[self.n_coef :] = 0.0
        return gradient

    def observe(self, objective, gradient, params, *, exact=True):
        """Take in the objective and smooth gradient at ``params``.

        ``exact=False`` for estimates of both (SAGA's running means), which
        only screen: the best point is that of an exact objective.
        """
        if exact and (self.best is None or objective < self.best[0]):
            self.best = (float(objective), np.array(params, copy=True))
        if not self.certified:
            return
        bound = gap_bound(
            objective, self._gradient(gradient), np.asarray(params, np.float64),
            self.n_coef, self.l2, self.l1, self.squared_error,
        )  # fmt: skip
        self.screened = relative_gap_bound(objective, bound)

    def estimate(self, objective, gradient, params):
        """Return the estimate of ``(f - f*) / f*`` at ``params`` (class doc) or nan."""
        return relative_gap_bound(objective, self.absolute(objective, gradient, params))

    def absolute(self, objective, gradient, params):
        """Return the estimate of ``f - f*`` at ``params`` (class doc) or nan."""
        if not self.certified:
            return np.nan
        gradient = self._gradient(gradient)
        params = np.asarray(params, dtype=np.float64)
        n_coef = self.n_coef
        g_b = gradient[n_coef:]
        intercept_part = 0.0
        if self.train_intercept and np.any(g_b != 0.0):
            # The Hessian's intercept columns, by differences of gradients at
            # points shifted in place (a copy of 2^20 coefficients a column
            # was most of a fit's peak memory on wide data).
            columns = []
            for k in range(g_b.shape[0]):
                intercept = params[n_coef + k]
                step = 1e-4 * max(1.0, abs(intercept))
                try:
                    params[n_coef + k] = intercept + step
                    column = self._gradient(self.gradient_at(params), own=True)
                finally:
                    params[n_coef + k] = intercept
                column -= gradient
                column /= step
                columns.append(column)
            H_bb = np.array([column[n_coef:] for column in columns]).T
            H_bb = (H_bb + H_bb.T) / 2
            shift = -np.linalg.lstsq(H_bb, g_b, rcond=1e-12)[0]
            intercept_part = max(-0.5 * float(g_b @ shift), 0.0)
            for k, column in enumerate(columns):
                gradient[:n_coef] += shift[k] * column[:n_coef]
            gradient[n_coef:] = 0.0
        bound = gap_bound(
            objective - intercept_part, gradient, params, n_coef, self.l2, self.l1,
            self.squared_error,
        )  # fmt: skip
        return bound + intercept_part


# The factor by which a full-batch hinge fit narrows its smoothing.
SMOOTHING_STEP = 0.25
# The smoothing widths a fit that did not descend on the smoothed hinge is
# judged through: a narrow one bounds the loss closely but its gradient less
# so, a wide one the other way round; the best bound is kept.
JUDGING_WIDTHS = (1.0, 0.25, 1 / 16, 1 / 64)


class Judge:
    """Where a fit stops and how far from the optimum it ends.

    Parameters
    ----------
    data : data source (``sklearn_gd._data``)
    make_kernel : callable
        ``make_kernel(width)`` returns the epoch kernel of the fit, on the
        loss smoothed over ``width`` (None: the loss itself).
    kernel : EpochKernel
        The fit's kernel on the loss itself, as ``make_kernel(None)`` gives.
    n_coef, l2, l1, train_intercept
        The layout and penalty of the parameters.
    loss : Loss
        The loss record (``sklearn_gd._losses``).
    tol : float or None
    smoothing : bool
        Whether the descent runs on the smoothed loss (full-batch
        ``solver="auto"`` with the hinge): its width then shrinks by
        ``SMOOTHING_STEP`` whenever the smoothing, not the descent, keeps the
        estimate above ``tol``, and the exact loss judges every estimate.

    ``kernel`` is what the descent trains on.
    """

    def __init__(
        self, data, make_kernel, kernel, n_coef, l2, l1, train_intercept, loss, tol,
        smoothing,
    ):  # fmt: skip
        self.data = data
        self.make_kernel = make_kernel
        self.layout = (n_coef, l2, l1, train_intercept)
        self.loss = loss
        self.tol = tol
        self.width = 1.0 if smoothing else None
        self.exact_kernel = kernel if smoothing else None
        self.kernel = make_kernel(self.width) if smoothing else kernel
        self.bound = self._estimator(None, loss.smooth or smoothing)
        # The cheap bound below which the estimate is worth its passes; with
        # smoothing, the estimate also decides when to narrow it, which is due
        # long before tol.
        self.next_check = 1.0 if smoothing else tol

    def _estimator(self, kernel, smooth):
        """Return a GapEstimate whose gradients are ``kernel``'s (None: the
        current ``self.kernel``, which narrowing the smoothing replaces)."""
        n_coef, l2, l1, train_intercept = self.layout

        def gradient_at(point):
            current = self.kernel if kernel is None else kernel
            return self.data.objective_and_gradient(current, point)[1]

        return GapEstimate(
            n_coef, l2, l1, self.loss.code == SQUARED_ERROR, smooth, train_intercept,
            gradient_at,
        )  # fmt: skip

    def observe(self, objective, gradient, point):
        """Take in the exact objective and gradient at the start of an epoch."""
        self.bound.observe(objective, gradient, point)

    def check(self, objective, gradient, point, state, engine):
        """Return ``(objective, estimate)`` if the fit may stop at ``point``, else None.

        The cheap bound screens every epoch; the estimate (a few more passes)
        checks a candidate, then waits for the cheap bound to fall tenfold.
        A check that finds the smoothing dominant narrows it (a new
        ``kernel``, and ``engine`` rescaled to it).
        """
        if not self.bound.certified or self.tol is None:
            return None
        if self.bound.screened > self.next_check:
            return None
        estimate, judged, narrow = self.judge(objective, gradient, point, state)
        if estimate <= self.tol:
            return judged, estimate
        self.next_check = self.bound.screened / 10
        if narrow:
            self.width *= SMOOTHING_STEP
            self.kernel = self.make_kernel(self.width)
            engine.rescale(SMOOTHING_STEP)
            self.bound.best = None
            self.next_check = self.width
        return None

    def check_mini_batches(self, objective, estimate_gradient, point, state):
        """Return ``(objective, estimate)`` if a SAGA fit may stop at ``point``.

        ``objective`` and ``estimate_gradient()`` are SAGA's running
        estimates (the epoch's mean objective, the mean of the stored
        gradients), which screen; a candidate is judged on one exact pass
        (and the intercept's few more), then the screen must fall tenfold
        below the exact bound. The gradient is asked for only when there is
        a tolerance to screen against: it costs a pass over the coefficients.
        """
        if not self.bound.certified or self.tol is None:
            return None
        self.bound.observe(objective, estimate_gradient(), point, exact=False)
        if self.bound.screened > self.next_check:
            return None
        objective, gradient = self.data.objective_and_gradient(self.kernel, point)
        self.bound.observe(objective, gradient, point)
        estimate, judged, _ = self.judge(objective, gradient, point, state)
        if estimate <= self.tol:
            return judged, estimate
        self.next_check = self.bound.screened / 10
        return None

    def judge(self, objective, gradient, point, state):
        """Return ``(estimate, exact objective, narrow)`` at an evaluated point.

        Without smoothing the estimate of :class:`GapEstimate`. With it,
        ``objective`` and ``gradient`` are the smoothed loss's, which lies
        below the exact one, so ``f* >= f*_smoothed >= f_smoothed - B`` and
        the exact objective (one more pass) minus that bounds the gap;
        ``narrow`` says that the smoothing, not the descent, dominates.
        """
        return self._judge(
            self.bound, self.exact_kernel, objective, gradient, point, state
        )

    def _judge(self, bound, exact_kernel, objective, gradient, point, state):
        if exact_kernel is None:
            return bound.estimate(objective, gradient, point), objective, False
        absolute = bound.absolute(objective, gradient, point)
        exact = float(self.data.objective(exact_kernel, point, state))
        lower = objective - absolute
        narrow = bool(absolute <= exact - objective)
        return relative_gap_bound(exact, exact - lower), exact, narrow

    def final(self, params, state, *, full_batch):
        """Judge where the fit ended; return ``(objective, estimate)``.

        One exact pass, since the last step was judged by no epoch. A
        full-batch fit that ends above the best point it evaluated returns
        there (``params`` is set to it), but for the perceptron, whose
        criterion is lowest at w = 0. A hinge fit that did not descend on
        the smoothed hinge is judged through it (``JUDGING_WIDTHS``).
        """
        best = self.bound.best
        objective, gradient = self.data.objective_and_gradient(self.kernel, params)
        if (
            full_batch
            and best is not None
            and not self.loss.minimised_at_zero
            and rose(objective, best[0], params.dtype)
        ):
            params[:] = best[1]
            objective, gradient = self.data.objective_and_gradient(self.kernel, params)
        estimate, objective, _ = self.judge(objective, gradient, params, state)
        if self.exact_kernel is None and self.loss.smoothed is not None:
            estimate = min(
                self._through_smoothing(width, params, state)
                for width in JUDGING_WIDTHS
            )
        return objective, estimate

    def _through_smoothing(self, width, params, state):
        smooth = self.make_kernel(width)
        objective, gradient = self.data.objective_and_gradient(smooth, params)
        bound = self._estimator(smooth, True)
        # A fresh kernel of the exact loss: the fit's own may hold SAGA's
        # memory, which an objective pass would update.
        exact = self.make_kernel(None)
        return self._judge(bound, exact, objective, gradient, params, state)[0]
