"""
Collinear features: descent from zero finds the minimum-norm solution
=====================================================================

Least squares without an intercept on three points, ``X = [[1, 1], [2, 2],
[3, 3]]`` and ``y = [1, 2, 3]``. The two columns of ``X`` are equal, so only
``w1 + w2`` matters: every ``w`` on the line ``w1 + w2 = 1`` fits the data
exactly, and the problem has infinitely many minimisers. Gradient descent
started from zero reaches one of them, ``[0.5, 0.5]``: the gradient
``-X.T @ (y - X @ w) / n`` is always a multiple of ``(1, 1)``, in the row
space of ``X``, so the iterates never leave the diagonal ``w1 = w2``, which
meets the line of exact fits at its point closest to the origin, the
minimum-norm solution that ``numpy.linalg.lstsq`` and the pseudo-inverse give.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_gd import GDRegressor, minimize
from sklearn_gd.plot import DescentPathDisplay

X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
y = np.array([1.0, 2.0, 3.0])

# %%
# The estimator, which starts from zero, with no intercept and no penalty
# (``alpha=0`` would do the same). The minimum of the objective is 0, every
# exact fit reaching it, and a relative gap to 0 means nothing: ``tol=None``
# runs a fixed number of epochs instead of a fit that could never certify its
# gap (and would warn).
model = GDRegressor(fit_intercept=False, penalty=None, max_iter=100, tol=None)
model.fit(X, y)
print(f"GDRegressor ({model.solver_!r} rule): coef_ = {model.coef_.round(6)}")
minimum_norm = np.linalg.lstsq(X, y, rcond=None)[0]
print(f"numpy.linalg.lstsq (minimum norm): {minimum_norm.round(6)}")

# %%
# The same objective, half the mean squared residual, with
# :func:`sklearn_gd.minimize` and plain gradient descent, from zero and, for
# comparison, from ``(1, -1)``.


def squared_loss(w):
    return 0.5 * np.mean((y - X @ w) ** 2)


def gradient(w):
    return -X.T @ (y - X @ w) / len(y)


results = {
    f"from {start}": minimize(squared_loss, start, gradient, learning_rate=0.05)
    for start in [(0.0, 0.0), (1.0, -1.0)]
}
for label, result in results.items():
    print(f"minimize {label}: x = {result.x.round(6)} after {result.nit} steps")

# %%
# The contours of the objective are lines parallel to the line of exact fits
# (dashed): the valley has a flat floor. Each step goes straight down the
# slope, perpendicular to the floor, and stops on it. From zero that is the
# point of the floor closest to the origin, on the smallest circle around the
# origin that touches it (dotted). From ``(1, -1)`` the part of the start
# along ``(1, -1)``, across the row space, is never changed, and descent ends
# at another exact fit, ``[1.5, -0.5]``: the minimum norm comes from starting
# at zero.
display = DescentPathDisplay.from_result(results, squared_loss, margin=0.5)
ax = display.ax_
xlim, ylim = ax.get_xlim(), ax.get_ylim()  # the extent of the contours
line = np.array(xlim)
ax.plot(line, 1 - line, "k--", linewidth=1, label="exact fits, w1 + w2 = 1")
angle = np.linspace(0, 2 * np.pi, 200)
radius = np.sqrt(0.5)
ax.plot(radius * np.cos(angle), radius * np.sin(angle), "k:", label="‖w‖ = √0.5")
ax.plot(0.5, 0.5, "k*", markersize=14, label="minimum norm [0.5, 0.5]")
ax.set_aspect("equal")
ax.set(xlim=xlim, ylim=ylim, xlabel="w1", ylabel="w2")
ax.set_title("Least squares with two equal columns")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
display.figure_.set_size_inches(8, 5)
display.figure_.set_layout_engine("constrained")
plt.show()
