"""
Out of core: partial_fit over the chunks of a CSV file
======================================================

When the data does not fit in memory and there is no cluster, read it in
chunks and hand each chunk to ``partial_fit``. Each call runs one epoch over
the chunk and carries the solver's state (Adam's moments here) and the
schedule on to the next, so a stream of chunks trains like one long epoch.

Two passes over the file: the first fits a ``StandardScaler`` with its own
``partial_fit`` (gradient descent wants features of similar scale), the
second trains. Memory holds one chunk at a time. The held-out accuracy after
each chunk approaches that of the same model fitted in memory.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier

# %%
# A CSV file of 60,000 rows, with features in very different units.
X, y = make_classification(
    n_samples=66_000, n_features=12, n_informative=6, random_state=0
)
X *= np.logspace(-2, 3, X.shape[1])
X_test, y_test = X[60_000:], y[60_000:]
path = Path(tempfile.mkdtemp()) / "train.csv"
frame = pd.DataFrame(X[:60_000], columns=[f"x{i}" for i in range(12)])
frame.assign(label=y[:60_000]).to_csv(path, index=False)
chunk_rows = 5_000

# %%
# First pass: the scaler's statistics, chunk by chunk.
scaler = StandardScaler()
for chunk in pd.read_csv(path, chunksize=chunk_rows):
    scaler.partial_fit(chunk.drop(columns="label"))

# %%
# Second pass: one ``partial_fit`` per chunk, scoring the held-out rows.
model = GDClassifier(solver="adam", batch_size=64, random_state=0)
test = scaler.transform(pd.DataFrame(X_test, columns=frame.columns))
rows_seen, accuracy, seen = [], [], 0
for chunk in pd.read_csv(path, chunksize=chunk_rows):
    features = scaler.transform(chunk.drop(columns="label"))
    model.partial_fit(features, chunk["label"], classes=[0, 1])
    seen += len(chunk)
    rows_seen.append(seen)
    accuracy.append(model.score(test, y_test))

in_memory = GDClassifier(random_state=0).fit(scaler.transform(frame), y[:60_000])
print(f"streamed: {accuracy[-1]:.3f}, in memory: {in_memory.score(test, y_test):.3f}")

fig, ax = plt.subplots()
ax.plot(rows_seen, accuracy, marker="o", label="partial_fit, one chunk at a time")
ax.axhline(
    in_memory.score(test, y_test), color="k", linestyle="--", label="fit in memory"
)
ax.set_xlabel("rows seen")
ax.set_ylabel("held-out accuracy")
ax.legend()
plt.show()
