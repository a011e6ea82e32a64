"""
A ball rolling down a parabola
==============================

Gradient descent on ``f(x) = 6x^2 - 12x + 3`` from ``x = -0.9`` with a step of
0.03: each step moves against the slope, ``x <- x - 0.03 * (12x - 12)``, so the
distance to the minimum at 1 shrinks by the same factor 0.64 every time.
"""

import matplotlib.pyplot as plt

from sklearn_gd import minimize
from sklearn_gd.plot import DescentPathDisplay


def f(x):
    return 6 * x[0] ** 2 - 12 * x[0] + 3


result = minimize(f, -0.9, jac=lambda x: 12 * x - 12, learning_rate=0.03)
print("first iterates:", result.path[:7, 0].round(4))
print(f"minimum {result.x[0]:.6f} after {result.nit} steps")

# %%
# Each dot is one step; the steps shorten as the slope flattens.
display = DescentPathDisplay.from_result(result, f, label="step 0.03")
display.ax_.set_title("f(x) = 6x² − 12x + 3, from x = −0.9")
plt.show()
