"""
Full batch, mini-batch, per-sample: the noise of the gradient
=============================================================

The same two-coefficient least-squares problem trained three ways, with the
same step size, drawn after each epoch. Full batch follows the exact gradient:
a smooth path, but only one step per epoch. Mini-batches of 16 take 13 steps
per epoch from noisy estimates of the gradient: faster, slightly wobbly.
Per-sample SGD takes 200 noisy steps per epoch: it arrives first, then
hovers around the optimum instead of settling on it.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gd import GDRegressor
from sklearn_gd.plot import DescentPathDisplay

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2)) * [1.0, 2.0]
y = X @ [3.0, -2.0] + rng.normal(scale=1.0, size=200)

fig, ax = plt.subplots(figsize=(7, 5.5), layout="constrained")
for batch_size in ["full", 16, 1]:
    model = GDRegressor(
        solver="sgd",
        momentum=0.0,
        learning_rate=0.02,
        schedule="constant",
        batch_size=batch_size,
        fit_intercept=False,
        max_iter=15,
        random_state=0,
    )
    display = DescentPathDisplay.from_estimator(model, X, y, ax=ax)
    line = display.lines_[next(iter(display.lines_))]
    line.set_label(f"batch_size={batch_size!r}")
optimum = np.linalg.lstsq(X, y, rcond=None)[0]
ax.plot(*optimum, "k*", markersize=12, zorder=1.5, label="least-squares optimum")
ax.legend()
ax.set(xlabel="coef_[0]", ylabel="coef_[1]")
ax.set_title("Coefficients after each epoch, 15 epochs")
plt.show()
