"""Learning-rate schedules: formulas, validation, cloning and use in a fit."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from sklearn_gd import (
    Adaptive,
    Cosine,
    Exponential,
    GDRegressor,
    InvScaling,
    Step,
    WarmRestarts,
)
from sklearn_gd._schedules import SCHEDULES, resolve_schedule


def test_warm_restarts_cycles_grow_by_mult():
    schedule = WarmRestarts(period=3, mult=2)
    epochs = np.array([0.0, 1.5, 2.999, 3.0, 6.0, 9.0, 9.0 + 1e-9, 21.0])
    multipliers = schedule.multipliers(np.arange(len(epochs)), epochs, 100)
    # Cycles start at 0, 3, 9, 21 and last 3, 6, 12, 24 epochs.
    assert_allclose(multipliers[[0, 3, 5, 7]], 1.0)
    assert_allclose(multipliers[1], 0.5)
    assert_allclose(multipliers[4], 0.5)
    assert multipliers[2] < 1e-5
    assert multipliers[6] == pytest.approx(1.0)


def test_warm_restarts_with_mult_one_is_periodic():
    schedule = WarmRestarts(period=4, min_factor=0.1)
    epochs = np.linspace(0, 3.9, 17)
    first = schedule.multipliers(np.arange(17), epochs, 50)
    later = schedule.multipliers(np.arange(17), epochs + 8, 50)
    assert_allclose(first, later, atol=1e-12)
    assert first.min() >= 0.1


def test_cosine_anneals_over_max_iter_by_default():
    multipliers = Cosine().multipliers([0, 1, 2], [0.0, 5.0, 10.0], max_iter=10)
    assert_allclose(multipliers, [1.0, 0.5, 0.0], atol=1e-12)


def test_invscaling_matches_sgdregressor_formula():
    steps = np.arange(0, 1000, 37)
    assert_allclose(
        InvScaling(power_t=0.3).multipliers(steps, steps, 1), (steps + 1.0) ** -0.3
    )


def test_step_and_exponential_decay_per_epoch():
    epochs = np.array([0.0, 0.99, 1.0, 2.5, 4.0])
    assert_allclose(
        Exponential(0.5).multipliers(epochs, epochs, 5), [1, 1, 0.5, 0.25, 1 / 16]
    )
    assert_allclose(Step(2, 0.1).multipliers(epochs, epochs, 5), [1, 1, 1, 0.1, 0.01])


@pytest.mark.parametrize(
    "schedule, message",
    [
        (Exponential(gamma=0.0), "Exponential.gamma"),
        (Exponential(gamma=1.5), "Exponential.gamma"),
        (Step(step_size=0), "Step.step_size"),
        (Step(step_size=2.5), "Step.step_size"),
        (WarmRestarts(period=-1), "WarmRestarts.period"),
        (WarmRestarts(mult=0), "WarmRestarts.mult"),
        (Cosine(min_factor=2.0), "Cosine.min_factor"),
        (Adaptive(factor=1.0), "Adaptive.factor"),
        (InvScaling(power_t=-1), "InvScaling.power_t"),
    ],
)
def test_bad_schedule_parameters_are_named_in_the_error(schedule, message):
    with pytest.raises(ValueError, match=message):
        resolve_schedule(schedule)


@pytest.mark.parametrize("bad", [np.nan, -0.5, np.inf])
def test_callable_returning_bad_values_is_rejected(bad):
    X, y = load_diabetes(return_X_y=True)
    model = GDRegressor(schedule=lambda t: np.where(t > 3, bad, 1.0), batch_size=64)
    with pytest.raises(ValueError, match="schedule callable returned"):
        model.fit(X, y)


def test_callable_schedule_of_a_scalar_step_is_accepted():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor(schedule=lambda t: 1.0 / (1 + t // 10), batch_size=64)
    model.set_params(max_iter=8, tol=None).fit(X, y)
    n_batches = 7
    expected = [1.0 / (1 + (epoch * n_batches) // 10) for epoch in range(8)]
    assert_allclose(np.array(model.lr_curve_) / model.learning_rate_, expected)


def test_schedule_objects_clone_and_expose_params():
    model = GDRegressor(schedule=WarmRestarts(period=5, mult=2))
    cloned = clone(model)
    assert cloned.schedule is not model.schedule
    assert cloned.get_params()["schedule__period"] == 5
    cloned.set_params(schedule__mult=3)
    assert cloned.schedule.mult == 3
    assert model.schedule.mult == 2


def test_lr_curve_follows_the_schedule_per_epoch():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor(schedule=Step(step_size=3, gamma=0.5), max_iter=9, tol=None)
    model.fit(X, y)
    expected = model.learning_rate_ * 0.5 ** (np.arange(9) // 3)
    assert_allclose(model.lr_curve_, expected)


def test_adaptive_divides_on_plateaus_and_stops_below_min_factor():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor(
        solver="sgd",
        schedule=Adaptive(factor=10.0, min_factor=1e-3),
        batch_size=8,
        random_state=0,
    ).fit(X, y)
    ratios = np.array(model.lr_curve_) / model.learning_rate_
    assert set(np.round(np.log10(ratios)).astype(int)) == {0, -1, -2, -3}
    assert model.n_iter_ < 1000


def test_every_named_schedule_resolves():
    for name, cls in SCHEDULES.items():
        assert isinstance(resolve_schedule(name), cls)
