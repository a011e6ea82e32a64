"""The rules the training loop consults after each epoch, and the state they keep.

:class:`EpochRules` holds what carries from one epoch to the next (and from
one ``partial_fit`` call to the next):

* the **rate factor**, which multiplies ``learning_rate_`` and the schedule:
  halved by backtracking, divided by the 'adaptive' schedule on a plateau;
* **restart and backtracking** for the explicit solvers (:meth:`after_epoch`):
  with mini-batches, momentum is dropped after an epoch whose objective rose;
  with full batch, where the objective is exact, a rise sends the fit back
  to its best point with no velocity (adaptive restart with a monotone
  objective, O'Donoghue & Candes, 2015) and, a second time in a row or for a
  solver without velocity, halves the rate;
* the **plateau counter** behind ``tol`` and ``n_iter_no_change``
  (:meth:`plateaued`) for mini-batches and early stopping.

Where a full-batch fit stops, and how far from the optimum it is, is
decided in :mod:`sklearn_gd._convergence`; ``solver="auto"`` on full batch
restarts by its own rule (:mod:`sklearn_gd._accelerated`).
"""

import numpy as np


class DivergenceError(ValueError):
    """Raised when the loss or the coefficients stop being finite during a fit.

    The estimator keeps the coefficients of the last epoch that ended finite
    (in ``partial_fit``, those of the stream's lowest running loss).
    """


def rose(objective, best, dtype):
    """Return whether ``objective`` is above ``best`` by more than rounding.

    Rounding makes equal objectives differ in the last digits; only a real
    rise counts, or the restarts would stall the final convergence. Float32
    coefficients round at 1e-7: a change below a few times that is noise (at
    a fixed 1e-12, float32 fits halved their rate 12 to 18 times on noise).
    """
    resolution = max(1e-12, 16 * float(np.finfo(dtype).eps))
    return objective > best + resolution * abs(best)


class EpochRules:
    """Restart, backtracking and plateau state of one fit (module doc).

    Parameters
    ----------
    tol : float or None
        The improvement that counts (relative to the best value, or absolute
        for a validation score); None never plateaus.
    n_iter_no_change : int
        Epochs without improvement that make a plateau.
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.rate_factor = 1.0
        self.moment_origin = 0  # Adam's update count starts again here
        self.best_loss = np.inf
        self.no_improvement = 0
        self.best_start = None  # full batch: (objective, params) of the best start
        self.restarted = False

    def after_epoch(self, objective, params, state, start, previous, *, full, solver):
        """Restart momentum after a rise, and with full batch step back (module doc).

        ``objective`` is that of ``start``, where the epoch began; ``previous``
        the objective of the epoch before (None for the first). ``solver``
        tells what momentum the solver keeps (:class:`SolverTraits`). The
        perceptron criterion is lowest at w = 0, so its rises only drop
        momentum, as with mini-batches, whose objectives are noisy averages.
        """
        if not full or solver.minimised_at_zero:
            if solver.restarts_momentum and previous is not None:
                if objective > previous:
                    state[0] = 0.0
            return
        best = self.best_start
        if best is not None and rose(objective, best[0], params.dtype):
            if self.restarted or not solver.has_velocity:
                # A step without velocity went up: it was too long.
                self.rate_factor *= 0.5
            params[:] = best[1]
            state[0] = 0.0
            if solver.adam:
                # A fresh Adam from the best point: both moments and the count
                # of their bias corrections start again. Zeroing the first
                # moment alone left its correction at 1, so the next steps
                # used ~0.1 g against a full-size L1 threshold and went uphill.
                state[1] = 0.0
                self.moment_origin = solver.t + 1
            self.restarted = True
            return
        if best is not None and objective >= best[0]:
            return  # back at the best start after a return to it
        self.restarted = False
        self.best_start = (objective, start)

    def plateaued(self, monitored, *, relative):
        """Count an epoch; return True after ``n_iter_no_change`` without improvement.

        An epoch improves when it lowers the best ``monitored`` value by
        ``tol`` times its size (``relative``: the objective) or by ``tol``
        (a validation score, as scikit-learn's early stopping). The count
        starts again after a plateau.
        """
        if self.tol is None:
            return False
        threshold = self.tol * abs(self.best_loss) if relative else self.tol
        if not np.isfinite(threshold):
            threshold = 0.0
        if monitored > self.best_loss - threshold:
            self.no_improvement += 1
        else:
            self.no_improvement = 0
        self.best_loss = min(self.best_loss, monitored)
        if self.no_improvement < self.n_iter_no_change:
            return False
        self.no_improvement = 0
        return True


class SolverTraits:
    """What :meth:`EpochRules.after_epoch` needs to know of the solver and loss."""

    def __init__(self, solver, momentum, minimised_at_zero, t):
        self.has_velocity = solver != "adagrad" and momentum > 0
        self.restarts_momentum = solver in ("sgd", "nesterov", "rmsprop") and (
            momentum > 0
        )
        self.adam = solver == "adam"
        self.minimised_at_zero = minimised_at_zero
        self.t = t


class RunningAverage:
    """Polyak-Ruppert averaging of the iterates (``average``), across epochs and calls.

    ``vector`` and ``state`` (``[updates averaged, rows still to see before
    the average starts]``) are shared with the epoch kernel, which folds
    every update into them in place (``_kernels._fold_into_average``);
    ``iterate`` is where the descent goes on from in the next
    ``partial_fit`` call, since the fitted coefficients are the average.
    """

    def __init__(self, n_params, start_row):
        self.vector = np.zeros(n_params)
        self.state = np.array([0.0, float(start_row)])
        self.iterate = None

    def snapshot(self):
        """Return a copy of the average and its state, for :meth:`restore`."""
        return self.vector.copy(), self.state.copy()

    def restore(self, saved):
        """Return the average to a :meth:`snapshot`, in place."""
        self.vector[:], self.state[:] = saved

    def returned(self, params):
        """Return the coefficients a fit gives: the average once it has begun."""
        if self.state[0] > 0:
            return self.vector.astype(params.dtype)
        return params
