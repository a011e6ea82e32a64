"""
Why scale the features
======================

Gradient descent takes one step size for all coefficients. When one feature
is measured in thousands and another in thousandths, the objective is a
valley thousands of times longer than wide, and the step that is safe for the
steep direction barely moves along the flat one. ``StandardScaler`` in a
Pipeline makes the valley round.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDRegressor
from sklearn_gd.plot import LossCurveDisplay

X, y = load_diabetes(return_X_y=True)
X = X * [1e3, 1e-3, 1, 1, 1, 1, 1, 1, 1, 10]  # very different units

unscaled = GDRegressor(max_iter=300, tol=None).fit(X, y)
scaled = make_pipeline(StandardScaler(), GDRegressor(max_iter=300, tol=None)).fit(X, y)
print(f"without scaling: R^2 = {unscaled.score(X, y):.3f}")
print(f"with scaling:    R^2 = {scaled.score(X, y):.3f}")

# %%
display = LossCurveDisplay.from_estimator(
    {"raw features": unscaled, "StandardScaler first": scaled}
)
display.ax_.set_title("Same data, same solver: the scaled fit converges")
plt.show()
