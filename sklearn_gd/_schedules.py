"""Learning-rate schedules: pure functions of training progress.

A schedule turns progress into a multiplier of the base learning rate
(``learning_rate_``). Progress is given for every update as the update count
``step`` (0, 1, 2, ... over the whole fit, continued by ``partial_fit``) and the
fractional ``epoch`` (epoch index plus the share of the epoch done). The
training loop asks for a whole epoch's multipliers at once and passes them to
the compiled kernel as an array, so any schedule — a user's callable included —
runs at compiled speed.

Schedules are small scikit-learn style objects: their parameters are
constructor arguments, so ``clone``, ``get_params`` and ``GridSearchCV`` over
``schedule=[Cosine(), WarmRestarts(period=5)]`` work as for any estimator.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator

# Where the default Exponential decay ends, at max_iter epochs.
FINAL_FACTOR = 1e-3


class Schedule(BaseEstimator):
    """Base class of learning-rate schedules.

    Subclasses implement :meth:`multipliers`.
    """

    def multipliers(self, steps, epochs, max_iter):
        """Return the learning-rate multiplier of each update.

        Parameters
        ----------
        steps : ndarray of shape (n_updates,)
            Update counts, from 0 at the start of training.
        epochs : ndarray of shape (n_updates,)
            Fractional epochs at each update (epoch index + share done).
        max_iter : int
            The number of epochs the fit may run; horizon of annealing schedules.

        Returns
        -------
        ndarray of shape (n_updates,)
        """
        raise NotImplementedError

    def _validate(self):
        """Raise a ValueError naming the parameter if one is out of range."""

    @staticmethod
    def _check(name, value, low, high=None, *, low_open=False, integer=False):
        kind = numbers.Integral if integer else numbers.Real
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            bound = f"> {low}" if low_open else f">= {low}"
            if high is not None:
                bound += f" and <= {high}"
            what = "an integer" if integer else "a number"
            raise ValueError(f"{name} must be {what} {bound}; got {value!r}.")


class Constant(Schedule):
    """Keep the learning rate fixed.

    Examples
    --------
    >>> from sklearn_gd import Constant
    >>> Constant().multipliers([0, 1, 2], [0.0, 0.5, 1.0], max_iter=10)
    array([1., 1., 1.])
    """

    def multipliers(self, steps, epochs, max_iter):
        return np.ones(len(steps))


class InvScaling(Schedule):
    """Inverse scaling per update: ``1 / (step + 1) ** power_t``.

    This is scikit-learn's ``learning_rate="invscaling"`` of ``SGDRegressor``.

    Parameters
    ----------
    power_t : float, default=0.25
        The exponent; 0 keeps the rate constant, 1 is the classic ``1/t`` decay.

    Examples
    --------
    >>> from sklearn_gd import InvScaling
    >>> InvScaling(power_t=0.5).multipliers([0, 3, 8], [0, 0, 0], max_iter=1)
    array([1.        , 0.5       , 0.33333333])
    """

    def __init__(self, power_t=0.25):
        self.power_t = power_t

    def _validate(self):
        self._check("InvScaling.power_t", self.power_t, 0.0)

    def multipliers(self, steps, epochs, max_iter):
        return (np.asarray(steps, dtype=np.float64) + 1.0) ** -self.power_t


class Exponential(Schedule):
    """Multiply the learning rate by ``gamma`` after every epoch.

    Parameters
    ----------
    gamma : float or None, default=None
        Decay factor per epoch, in (0, 1]. None decays by ``1000`` over the
        fit's ``max_iter`` epochs (``gamma = 0.001 ** (1 / max_iter)``), so the
        rate anneals over the budget the fit was given, as :class:`Cosine`
        does; a fixed ``gamma`` such as 0.95 shrinks the rate 20-fold in 60
        epochs, whatever the budget, and full batch (one update an epoch) may
        then stop moving before it arrives.

    Examples
    --------
    >>> from sklearn_gd import Exponential
    >>> Exponential(gamma=0.5).multipliers([0, 1, 2], [0.0, 1.0, 2.5], max_iter=3)
    array([1.  , 0.5 , 0.25])
    >>> Exponential().multipliers([0, 1, 2], [0.0, 50.0, 100.0], max_iter=100).round(4)
    array([1.    , 0.0316, 0.001 ])
    """

    def __init__(self, gamma=None):
        self.gamma = gamma

    def _validate(self):
        if self.gamma is not None:
            self._check("Exponential.gamma", self.gamma, 0.0, 1.0, low_open=True)

    def multipliers(self, steps, epochs, max_iter):
        gamma = self.gamma if self.gamma is not None else FINAL_FACTOR ** (1 / max_iter)
        return gamma ** np.floor(np.asarray(epochs, dtype=np.float64))


class Step(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Parameters
    ----------
    step_size : int or None, default=None
        Epochs between two decays; None makes 10 drops over the fit's
        ``max_iter`` epochs (``step_size = max(max_iter // 10, 1)``), which with
        the default ``gamma`` ends near a thousandth of the rate.
    gamma : float, default=0.5
        Decay factor, in (0, 1].

    Examples
    --------
    >>> from sklearn_gd import Step
    >>> Step(step_size=2, gamma=0.1).multipliers([0, 1, 2], [0.0, 1.9, 2.0], 10)
    array([1. , 1. , 0.1])
    >>> Step().multipliers([0, 1, 2], [0.0, 10.0, 25.0], max_iter=100)
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, step_size=None, gamma=0.5):
        self.step_size = step_size
        self.gamma = gamma

    def _validate(self):
        if self.step_size is not None:
            self._check("Step.step_size", self.step_size, 1, integer=True)
        self._check("Step.gamma", self.gamma, 0.0, 1.0, low_open=True)

    def multipliers(self, steps, epochs, max_iter):
        step_size = self.step_size or max(max_iter // 10, 1)
        drops = np.floor(np.asarray(epochs, dtype=np.float64) / step_size)
        return self.gamma**drops


class Cosine(Schedule):
    """Cosine annealing from 1 down to ``min_factor`` over ``period`` epochs.

    ``min_factor + (1 - min_factor) * (1 + cos(pi * epoch / period)) / 2``; after
    ``period`` epochs the multiplier stays at ``min_factor``.

    Parameters
    ----------
    period : int or None, default=None
        Epochs to anneal over; None anneals over the fit's ``max_iter``.
    min_factor : float, default=0.0
        Final multiplier, in [0, 1].

    Examples
    --------
    >>> from sklearn_gd import Cosine
    >>> Cosine(period=4).multipliers([0, 1, 2], [0.0, 2.0, 4.0], max_iter=10)
    array([1. , 0.5, 0. ])
    """

    def __init__(self, period=None, min_factor=0.0):
        self.period = period
        self.min_factor = min_factor

    def _validate(self):
        if self.period is not None:
            self._check("Cosine.period", self.period, 1, integer=True)
        self._check("Cosine.min_factor", self.min_factor, 0.0, 1.0)

    def multipliers(self, steps, epochs, max_iter):
        period = self.period if self.period is not None else max_iter
        progress = np.minimum(np.asarray(epochs, dtype=np.float64) / period, 1.0)
        cosine = 0.5 * (1.0 + np.cos(np.pi * progress))
        return self.min_factor + (1.0 - self.min_factor) * cosine


class WarmRestarts(Schedule):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, 2017).

    The multiplier anneals from 1 to ``min_factor`` over a cycle of ``period``
    epochs, then jumps back to 1; each cycle is ``mult`` times longer than the
    one before.

    Parameters
    ----------
    period : int, default=10
        Length of the first cycle, in epochs.
    mult : int, default=1
        Growth factor of the cycle length.
    min_factor : float, default=0.0
        Multiplier at the end of each cycle, in [0, 1].

    Examples
    --------
    >>> from sklearn_gd import WarmRestarts
    >>> sched = WarmRestarts(period=2, mult=2)
    >>> sched.multipliers([0, 1, 2, 3], [0.0, 1.0, 2.0, 4.0], max_iter=10)
    array([1. , 0.5, 1. , 0.5])
    """

    def __init__(self, period=10, mult=1, min_factor=0.0):
        self.period = period
        self.mult = mult
        self.min_factor = min_factor

    def _validate(self):
        self._check("WarmRestarts.period", self.period, 1, integer=True)
        self._check("WarmRestarts.mult", self.mult, 1, integer=True)
        self._check("WarmRestarts.min_factor", self.min_factor, 0.0, 1.0)

    def multipliers(self, steps, epochs, max_iter):
        epochs = np.asarray(epochs, dtype=np.float64)
        if self.mult == 1:
            position = np.mod(epochs, self.period)
            length = np.full_like(epochs, self.period)
        else:
            # Cycle c starts at period * (mult**c - 1) / (mult - 1).
            cycle = np.floor(
                np.log1p(epochs * (self.mult - 1) / self.period) / math.log(self.mult)
            )
            # Guard the floor against rounding at cycle boundaries.
            cycle -= self._cycle_start(cycle) > epochs
            cycle += self._cycle_start(cycle + 1) <= epochs
            start = self._cycle_start(cycle)
            length = self.period * self.mult**cycle
            position = epochs - start
        cosine = 0.5 * (1.0 + np.cos(np.pi * position / length))
        return self.min_factor + (1.0 - self.min_factor) * cosine

    def _cycle_start(self, cycle):
        return self.period * (self.mult**cycle - 1) / (self.mult - 1)


class Adaptive(Schedule):
    """Divide the learning rate by ``factor`` whenever the monitored loss plateaus.

    A plateau is ``n_iter_no_change`` epochs without an improvement of ``tol``
    (scikit-learn's ``learning_rate="adaptive"``). Training stops once the
    multiplier falls below ``min_factor``. It needs the loss, so the training
    loop, not this object, applies it; between plateaus the rate is constant.

    Parameters
    ----------
    factor : float, default=5.0
        Divisor applied at each plateau, > 1.
    min_factor : float, default=1e-6
        Training ends when the multiplier falls below this.

    Examples
    --------
    >>> from sklearn_gd import Adaptive
    >>> Adaptive(factor=2).multipliers([0, 1], [0.0, 0.5], max_iter=5)
    array([1., 1.])
    """

    def __init__(self, factor=5.0, min_factor=1e-6):
        self.factor = factor
        self.min_factor = min_factor

    def _validate(self):
        self._check("Adaptive.factor", self.factor, 1.0, low_open=True)
        self._check("Adaptive.min_factor", self.min_factor, 0.0, 1.0, low_open=True)

    def multipliers(self, steps, epochs, max_iter):
        return np.ones(len(steps))


class CallableSchedule(Schedule):
    """Wrap a user's function of the update count into a schedule.

    Parameters
    ----------
    function : callable
        ``function(steps) -> multipliers``; called with an int array of update
        counts. A function of one int is also accepted (it is called per step).

    Examples
    --------
    >>> from sklearn_gd._schedules import CallableSchedule
    >>> CallableSchedule(lambda t: 0.5**t).multipliers([0, 1, 2], [0, 0, 0], 1)
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, function):
        self.function = function

    def multipliers(self, steps, epochs, max_iter):
        steps = np.asarray(steps, dtype=np.int64)
        try:
            values = np.asarray(self.function(steps), dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or values.shape != steps.shape:
            values = np.array([self.function(int(s)) for s in steps], dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"The schedule callable returned {values[first]!r} at update "
                f"{int(steps[first])}; it must return finite multipliers >= 0."
            )
        return values


SCHEDULES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "exponential": Exponential,
    "step": Step,
    "cosine": Cosine,
    "warm_restarts": WarmRestarts,
    "adaptive": Adaptive,
}


def resolve_schedule(schedule):
    """Return a validated :class:`Schedule` for a name, a Schedule or a callable."""
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {sorted(SCHEDULES)}, a Schedule object or "
                f"a callable; got {schedule!r}."
            )
        resolved = SCHEDULES[schedule]()
    elif isinstance(schedule, Schedule):
        resolved = schedule
    elif callable(schedule):
        resolved = CallableSchedule(schedule)
    else:
        raise ValueError(
            f"schedule must be one of {sorted(SCHEDULES)}, a Schedule object or a "
            f"callable; got {schedule!r}."
        )
    resolved._validate()
    return resolved
