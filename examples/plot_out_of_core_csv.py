"""
Out of core: partial_fit over the chunks of a CSV file
======================================================

When the data does not fit in memory and there is no cluster, read it in
chunks and hand each chunk to ``partial_fit``. Each call runs one epoch over
its chunk; the chunks form one stream, whose learning rate, feature scaling
and schedule come from every chunk seen so far, not from the chunk at hand
(see the :ref:`user guide <streams>`).

Two steps over the file: ``StandardScaler.partial_fit`` learns the features'
scale in one pass, then three passes train the classifier with its default
settings. Memory holds one chunk at a time. The running loss (each batch's
loss before its update) falls across the stream, and the model ends close to
the exact optimum of the same objective, which ``LogisticRegression`` finds
in memory.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier
from sklearn_gd.plot import LossCurveDisplay

# %%
# A CSV file of 60,000 rows, with features in very different units.
X, y = make_classification(
    n_samples=66_000, n_features=12, n_informative=6, random_state=0
)
X *= np.logspace(-2, 3, X.shape[1])
X_test, y_test = X[60_000:], y[60_000:]
path = Path(tempfile.mkdtemp()) / "train.csv"
columns = [f"x{i}" for i in range(12)]
frame = pd.DataFrame(X[:60_000], columns=columns)
frame.assign(label=y[:60_000]).to_csv(path, index=False)
chunk_rows = 2_000

# %%
# First pass: the scaler's statistics, chunk by chunk.
scaler = StandardScaler()
for chunk in pd.read_csv(path, chunksize=chunk_rows):
    scaler.partial_fit(chunk.drop(columns="label"))

# %%
# Three passes of ``partial_fit``, one call per chunk. After each pass we
# measure the training objective (the mean logistic loss plus the L2
# penalty) against its exact optimum; a real out-of-core job would skip
# that, since it needs the whole training set in memory.
model = GDClassifier(random_state=0)
X_train, y_train = scaler.transform(frame), y[:60_000]
C = 1 / (model.alpha * len(X_train))
exact = LogisticRegression(C=C, tol=1e-10).fit(X_train, y_train)
sign = np.where(y_train == 1, 1, -1)


def objective(coef, intercept):
    margin = sign * (X_train @ coef.ravel() + intercept)
    penalty = model.alpha / 2 * np.sum(coef**2)
    return np.mean(np.logaddexp(0, -margin)) + penalty


optimum = objective(exact.coef_, exact.intercept_)
for epoch in range(3):
    for chunk in pd.read_csv(path, chunksize=chunk_rows):
        features = scaler.transform(chunk.drop(columns="label"))
        model.partial_fit(features, chunk["label"], classes=[0, 1])
    value = objective(model.coef_, model.intercept_)
    gap = (value - optimum) / optimum
    print(f"pass {epoch + 1}: {gap:.1e} above the optimum (relative)")

test = scaler.transform(pd.DataFrame(X_test, columns=columns))
streamed, best = model.score(test, y_test), exact.score(test, y_test)
print(f"held-out accuracy: streamed {streamed:.3f}, exact {best:.3f}")

# %%
# The running loss of every call, and its mean over 30 calls (a pass):
# chunks differ, so single calls scatter, but their mean falls onto the
# exact optimum as the schedule lowers the rate at each plateau.
curves = {"each call": model}
display = LossCurveDisplay.from_estimator(curves, log_scale=False)
display.lines_["each call"].set(alpha=0.4, linewidth=1)
ax = display.ax_
calls = np.arange(1, len(model.loss_curve_) + 1)
running = pd.Series(model.loss_curve_)
per_pass = running.rolling(30, min_periods=5).mean()
ax.plot(calls, per_pass, linewidth=2.5, label="mean of 30 calls")
ax.axhline(optimum, color="k", linestyle="--", label="exact optimum")
ax.set_xlabel("partial_fit call (one 2,000-row chunk each)")
ax.set_ylabel("running loss")
low, high = ax.get_ylim()
ax.set_ylim(low, high + 0.25 * (high - low))  # room for the legend
ax.legend(loc="upper right", ncol=3)
display.figure_.set_size_inches(8, 4.5)
display.figure_.set_layout_engine("constrained")
plt.show()
