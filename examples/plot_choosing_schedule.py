"""
Choosing a learning-rate schedule
=================================

Per-sample SGD (``batch_size=1``, ``solver="sgd"`` with its default momentum
0.9) on a regression problem, with every built-in schedule. Each update sees
one row, so its gradient is noisy: with a constant step the loss stops falling
at a noise floor set by the step, the decaying schedules lower the floor, and
warm restarts trade a temporary rise at each restart for a lower floor at the
end of each cycle.

The solver is set explicitly: with the default ``solver="auto"``, mini-batches
and single rows in memory are trained by SAGA, whose corrected gradients have
no noise floor, and every schedule would end at the same optimum.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_gd import Cosine, GDRegressor, Step, WarmRestarts

X, y = make_regression(2000, 20, noise=10.0, random_state=0)
X = StandardScaler().fit_transform(X)

# %%
# The exact optimum of the same objective, ``mean((y - Xw - b)**2) / 2 +
# alpha * ||w||**2 / 2``, is a ridge regression with ``alpha * n_samples``.
alpha = 1e-4
ridge = Ridge(alpha=alpha * len(X)).fit(X, y)


def objective(coef, intercept):
    residual = y - X @ coef - intercept
    return 0.5 * np.mean(residual**2) + 0.5 * alpha * coef @ coef


optimum = objective(ridge.coef_, ridge.intercept_)

# %%
# One fit per schedule, 70 epochs of 2,000 updates each. ``loss_curve_`` holds
# each epoch's running loss (the mean loss of its rows, each before its
# update); we draw how far it is above the optimum, relative to it.
schedules = {
    "constant": "constant",
    "invscaling": "invscaling",
    "step (x0.5 every 10)": Step(step_size=10, gamma=0.5),
    "exponential": "exponential",
    "cosine": Cosine(),
    "warm restarts (10, x2)": WarmRestarts(period=10, mult=2),
    "adaptive (on plateau)": "adaptive",
}
styles = ["-", "--", "-.", ":", "-", "--", "-."]
fig, (loss_ax, rate_ax) = plt.subplots(
    1, 2, figsize=(10, 4.8), layout="constrained", sharex=True
)
for (label, schedule), style in zip(schedules.items(), styles, strict=True):
    # 'adaptive' divides the rate on plateaus of tol, so it needs one (and
    # stops on the last plateau, with a ConvergenceWarning: its gap bound is
    # pessimistic); tol=None runs the others for all 70 epochs.
    tol = 1e-3 if label.startswith("adaptive") else None
    model = GDRegressor(
        solver="sgd",
        batch_size=1,
        schedule=schedule,
        max_iter=70,
        tol=tol,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    epochs = np.arange(1, model.n_iter_ + 1)
    gap = (np.array(model.loss_curve_) - optimum) / optimum
    (line,) = loss_ax.semilogy(epochs, gap, style, label=label)
    rate_ax.semilogy(epochs, model.lr_curve_, style, color=line.get_color())
    final = (objective(model.coef_, model.intercept_[0]) - optimum) / optimum
    print(f"{label:>24}: {model.n_iter_} epochs, final coefficients {final:.1e} above")
print(f"{'':>24}  the optimum (relative)")
loss_ax.set(
    xlabel="epoch",
    ylabel="(running loss − optimum) / optimum",
    title="Distance to the exact optimum",
)
rate_ax.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
fig.legend(loc="outside lower center", ncol=4)
plt.show()

# %%
# After the first epoch, which starts from zero, the constant step hovers
# about 20% above the optimum. ``invscaling`` decays fast at first and then
# slowly, so it stalls early at a floor of about 1%. Step, exponential, cosine
# and warm restarts shrink the rate by orders of magnitude and their floor
# with it; each restart's large step costs a jump up, paid back by the end of
# the cycle. The adaptive schedule (the default for mini-batches) divides the
# rate by 5 each time the loss stops improving by ``tol`` and stops on the
# last plateau. The running loss averages the iterates over an epoch: the
# coefficients returned at the end lie closer still to the optimum (printed
# above).
