"""
Two valleys: the start decides the minimum
==========================================

On a function with two valleys, gradient descent only ever goes downhill, so
it ends in the valley it starts in. ``f(x) = x^4 - 3x^2 + x`` has a deep
minimum near -1.30 and a shallow one near 1.13.
"""

import matplotlib.pyplot as plt

from sklearn_gd import minimize
from sklearn_gd.plot import DescentPathDisplay


def f(x):
    return x[0] ** 4 - 3 * x[0] ** 2 + x[0]


def slope(x):
    return 4 * x**3 - 6 * x + 1


results = {
    f"start {start}": minimize(f, start, slope, learning_rate=0.02)
    for start in (-2.0, -0.1, 0.3, 2.0)
}
for label, result in results.items():
    print(f"{label:>10}: ends at {result.x[0]:+.3f}, f = {result.fun:+.3f}")

# %%
display = DescentPathDisplay.from_result(results, f)
display.ax_.set(xlim=(-2.3, 2.3), ylim=(-4.5, 8))  # the valleys, not the walls
display.ax_.set_title("x⁴ − 3x² + x: which valley depends on the start")
plt.show()
