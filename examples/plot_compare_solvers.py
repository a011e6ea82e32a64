"""
Comparing the solvers on a real data set
========================================

All five solvers on the digits data set (1797 images, 10 classes, multinomial
logistic regression), in mini-batches of 32 with their automatic learning
rate. The loss curves show how fast each one gets where.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier
from sklearn_gd.plot import LossCurveDisplay

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
models = {
    solver: GDClassifier(
        solver=solver, batch_size=32, max_iter=60, tol=None, random_state=0
    ).fit(X, y)
    for solver in ["sgd", "nesterov", "adagrad", "rmsprop", "adam"]
}
for solver, model in models.items():
    print(f"{solver:>8}: training accuracy {model.score(X, y):.3f}, "
          f"final loss {model.loss_curve_[-1]:.4f}")  # fmt: skip

# %%
display = LossCurveDisplay.from_estimator(models)
display.ax_.set_title("Digits, batch_size=32, learning_rate='auto'")
plt.show()
