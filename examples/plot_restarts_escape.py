"""
Warm restarts escape a poor valley
==================================

A small constant step settles in the first valley it meets, here a narrow and
shallow one. Cosine annealing with warm restarts (SGDR) cycles the step from
large to small: the large steps of each cycle are unstable in a narrow valley
(its curvature is high) but not in a wide one, so the iterate is thrown out of
the trap, and the small steps at the end of the cycle settle it precisely in
the wide, deep valley.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gd import WarmRestarts, minimize


def f(x):
    # A wide, deep valley at 2 and a narrow, shallow one near -1.
    return 0.5 * (x[0] - 2) ** 2 - 1.5 * np.exp(-8 * (x[0] + 1) ** 2)


def slope(x):
    return (x - 2) + 24 * (x + 1) * np.exp(-8 * (x + 1) ** 2)


schedule = WarmRestarts(period=25, min_factor=0.01)
constant = minimize(f, -1.3, slope, learning_rate=0.02, max_iter=100, tol=0)
restarts = minimize(
    f, -1.3, slope, learning_rate=0.3, max_iter=100, tol=0, schedule=schedule
)
print(f"constant step ends at x = {constant.x[0]:+.3f}, f = {constant.fun:+.3f}")
print(f"warm restarts end at  x = {restarts.x[0]:+.3f}, f = {restarts.fun:+.3f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
grid = np.linspace(-2, 3.5, 500)
left.plot(grid, [f([g]) for g in grid], color="0.6")
left.plot(constant.path[:, 0], constant.loss_curve, "o", label="constant step 0.02")
left.plot(restarts.path[:, 0], restarts.loss_curve, ".", label="warm restarts")
left.set(xlabel="x", ylabel="f(x)", title="Where the iterates went")
left.legend()
steps = np.arange(101)
right.plot(constant.path[:, 0], label="x, constant step 0.02")
right.plot(restarts.path[:, 0], label="x, warm restarts")
right.set(xlabel="step", ylabel="x", title="The step size cycles; x leaves the trap")
rate = right.twinx()
rate.plot(
    steps,
    0.3 * schedule.multipliers(steps, steps, 100),
    "k:",
    linewidth=1,
    label="learning rate, warm restarts",
)
rate.set_ylabel("learning rate (dotted)")
handles = right.get_legend_handles_labels()[0] + rate.get_legend_handles_labels()[0]
right.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
plt.show()
