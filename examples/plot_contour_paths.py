"""
Descent paths on the contours of a bowl
=======================================

``f(x, y) = 6x^2 + 9y^2 - 12x - 14y + 3`` has its minimum at ``(1, 7/9)``.
From three starting points gradient descent walks perpendicular to the
contour lines and arrives at the same place.
"""

import matplotlib.pyplot as plt

from sklearn_gd import minimize
from sklearn_gd.plot import DescentPathDisplay


def bowl(v):
    x, y = v
    return 6 * x**2 + 9 * y**2 - 12 * x - 14 * y + 3


results = {
    f"from {start}": minimize(bowl, start, learning_rate=0.03)
    for start in [(-1.0, -1.0), (2.5, 2.0), (-2.0, 2.5)]
}
for label, result in results.items():
    print(label, "->", result.x.round(4), f"({result.nit} steps)")

# %%
display = DescentPathDisplay.from_result(results, bowl)
display.ax_.plot(1, 7 / 9, "k*", markersize=14)
display.ax_.set_title("Three starts, one minimum at (1, 7/9)")
display.ax_.set_aspect("equal")
display.ax_.set(xlabel="x", ylabel="y")
display.ax_.legend(loc="lower right")
plt.show()
