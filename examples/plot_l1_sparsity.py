"""
L1 penalties give exact zeros
=============================

The L1 part of the penalty is applied by a proximal step (soft-thresholding)
after each gradient step, so coefficients that do not earn their keep become
exactly 0.0, as in the Lasso, rather than merely small. The path below matches
``sklearn.linear_model.Lasso`` on the same objective.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDRegressor

data = load_diabetes()
X = StandardScaler().fit_transform(data.data)
y = data.target
alphas = np.logspace(-1, 1.5, 20)
ours, lasso = [], []
for alpha in alphas:
    model = GDRegressor(penalty="l1", alpha=alpha, tol=None, max_iter=3000)
    model.fit(X, y)
    ours.append(model.coef_)
    lasso.append(Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(X, y).coef_)
ours, lasso = np.array(ours), np.array(lasso)
print("exact zeros per alpha:", (ours == 0).sum(axis=1))
print(f"largest difference from Lasso: {np.abs(ours - lasso).max():.2e}")

# %%
fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
for j, name in enumerate(data.feature_names):
    (line,) = ax.semilogx(alphas, ours[:, j], label=name)
    ax.semilogx(alphas, lasso[:, j], "x", color=line.get_color(), markersize=4)
ax.set_xlabel("alpha")
ax.set_ylabel("coefficient")
ax.set_title("GDRegressor(penalty='l1') paths (lines) and Lasso (crosses)")
ax.legend(title="feature", loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()
