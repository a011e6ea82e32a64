"""
Momentum smooths a zig-zag
==========================

In a narrow valley a step large enough to make progress along the floor
bounces plain gradient descent from wall to wall. With the same step, momentum
averages the bounces away (they cancel in the running mean of gradients) and
accumulates speed along the floor.
"""

import matplotlib.pyplot as plt

from sklearn_gd import minimize
from sklearn_gd.plot import DescentPathDisplay


def valley(v):
    return 0.5 * (v[0] ** 2 + 10 * v[1] ** 2)


def slope(v):
    return [v[0], 10 * v[1]]


settings = dict(learning_rate=0.19, max_iter=40, tol=1e-6)
results = {
    "plain (momentum 0)": minimize(valley, (-10.0, 1.5), slope, **settings),
    "heavy ball (momentum 0.5)": minimize(
        valley, (-10.0, 1.5), slope, momentum=0.5, **settings
    ),
}
for label, result in results.items():
    print(f"{label:>20}: f = {result.fun:.2e} after {result.nit} steps")

# %%
display = DescentPathDisplay.from_result(results, valley, margin=0.1)
display.ax_.set_title("A narrow valley: momentum turns the zig-zag into a glide")
plt.show()
