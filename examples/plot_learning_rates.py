"""
Learning rates: too small, too large, annealed
==============================================

On ``f(x) = 6x^2 - 12x + 3`` the curvature is 12, so any step below
``2 / 12`` converges: a tiny step crawls, a step near the limit overshoots
back and forth, and a step above it diverges. Annealing the rate with a
schedule starts fast and settles.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gd import Exponential, minimize


def f(x):
    return 6 * x[0] ** 2 - 12 * x[0] + 3


def slope(x):
    return 12 * x - 12


runs = {
    "too small (0.005)": dict(learning_rate=0.005),
    "good (0.05)": dict(learning_rate=0.05),
    "overshooting (0.16)": dict(learning_rate=0.16),
    "diverging (0.18)": dict(learning_rate=0.18),
    "annealed (0.16, x0.8 per step)": dict(
        learning_rate=0.16, schedule=Exponential(gamma=0.8)
    ),
}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
for label, settings in runs.items():
    result = minimize(f, -0.9, slope, max_iter=40, **settings)
    steps = np.arange(len(result.path))
    x = result.path[:, 0]
    # Draw the diverging run only until it leaves the window of the iterates.
    shown = np.cumprod(np.abs(x - 1) < 4).astype(bool)
    left.plot(steps[shown], x[shown], "o-", markersize=3, label=label)
    right.semilogy(steps, result.loss_curve + 3 + 1e-16)
    print(f"{label:>32}: x = {result.x[0]:+.4g} after {result.nit} steps")
left.axhline(1, color="k", linewidth=0.8)
left.set(xlabel="step", ylabel="x", ylim=(-3, 5), title="Iterates (minimum at x = 1)")
right.set(xlabel="step", ylabel="f(x) − min f", title="Distance to the minimum")
fig.legend(loc="outside lower center", ncol=3)
plt.show()

# %%
# The diverging run leaves the window after a few steps (its distance to the
# minimum grows by ``|1 - 12 * 0.18| = 1.16`` a step), and the good step stops
# once ``tol`` is met. The annealed rate is divided by 1.25 every step, so
# after a fast start it shrinks to nothing and the iterate freezes: its
# distance to the minimum levels off near 1e-9, where a constant good step
# keeps going down.
