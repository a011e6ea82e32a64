"""
Choosing a learning-rate schedule
=================================

Per-sample SGD on a regression problem with every built-in schedule. With a
constant step the loss stops falling at a noise floor set by the step; the
decaying schedules lower the floor, and warm restarts trade a temporary rise
at each restart for exploration.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_gd import Cosine, GDRegressor, Step, WarmRestarts

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_regression(2000, 20, noise=10.0, random_state=0)
X = StandardScaler().fit_transform(X)
schedules = {
    "constant": "constant",
    "invscaling": "invscaling",
    "step (x0.5 every 10)": Step(step_size=10, gamma=0.5),
    "exponential": "exponential",
    "cosine": Cosine(),
    "warm restarts (10, x2)": WarmRestarts(period=10, mult=2),
    "adaptive (on plateau)": "adaptive",
}
fig, (loss_ax, rate_ax) = plt.subplots(1, 2, figsize=(11, 4))
for label, schedule in schedules.items():
    # 'adaptive' acts on plateaus of tol, so it needs one; the others run on.
    tol = 1e-3 if label.startswith("adaptive") else None
    model = GDRegressor(
        batch_size=8, schedule=schedule, max_iter=70, tol=tol, random_state=0
    ).fit(X, y)
    loss_ax.semilogy(model.loss_curve_, label=label)
    rate_ax.semilogy(model.lr_curve_, label=label)
    print(f"{label:>24}: final objective {model.loss_curve_[-1]:.3f}")
loss_ax.set(xlabel="epoch", ylabel="training objective", title="Loss")
rate_ax.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
loss_ax.legend(fontsize=8)
plt.show()
