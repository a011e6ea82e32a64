"""
Out of core: partial_fit over the chunks of a CSV file
======================================================

When the data does not fit in memory and there is no cluster, read it in
chunks and hand each chunk to ``partial_fit``. Each call runs one epoch over
its chunk; the chunks form one stream, whose learning rate, feature scaling
and schedule come from every chunk seen so far, not from the chunk at hand
(see the user guide, "Streams").

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
X_train = scaler.transform(frame)
exact = LogisticRegression(C=1 / (model.alpha * len(X_train)), tol=1e-10)
exact.fit(X_train, y[:60_000])


def objective(coef, intercept):
    margin = np.where(y[:60_000] == 1, 1, -1) * (X_train @ coef.ravel() + intercept)
    return np.mean(np.logaddexp(0, -margin)) + model.alpha / 2 * np.sum(coef**2)


optimum = objective(exact.coef_, exact.intercept_)
for epoch in range(3):
    for chunk in pd.read_csv(path, chunksize=chunk_rows):
        features = scaler.transform(chunk.drop(columns="label"))
        model.partial_fit(features, chunk["label"], classes=[0, 1])
    gap = (objective(model.coef_, model.intercept_) - optimum) / optimum
    print(f"pass {epoch + 1}: objective {gap:.1e} above the optimum (relative)")

test = scaler.transform(pd.DataFrame(X_test, columns=columns))
print(
    f"held-out accuracy: streamed {model.score(test, y_test):.3f}, "
    f"exact {exact.score(test, y_test):.3f}"
)

# %%
# The running loss of every call, and its mean over the last pass (30
# chunks): chunks differ, so single calls scatter, but their mean falls onto
# the exact optimum as the schedule lowers the rate at each plateau of the
# stream.
display = LossCurveDisplay.from_estimator({"each call": model}, log_scale=False)
display.lines_["each call"].set(alpha=0.4, linewidth=1)
calls = np.arange(1, len(model.loss_curve_) + 1)
per_pass = pd.Series(model.loss_curve_).rolling(30, min_periods=5).mean()
display.ax_.plot(calls, per_pass, linewidth=2.5, label="mean of the last 30 calls")
display.ax_.axhline(optimum, color="k", linestyle="--", label="exact optimum")
display.ax_.set_xlabel("partial_fit call (one 2,000-row chunk each)")
display.ax_.set_ylabel("running loss")
display.ax_.legend()
display.figure_.tight_layout()
plt.show()
