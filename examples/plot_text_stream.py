"""
Text out of core: HashingVectorizer and partial_fit
===================================================

scikit-learn's best-known out-of-core workflow: hash each batch of documents
into a fixed number of columns (no vocabulary to keep in memory) and hand
it to ``partial_fit``. Here the documents are generated locally: two topics
with their own words, mixed with common words both share, and 5% of the
labels flipped.

``GDClassifier`` streams with its defaults (sgd with momentum, the batch
size and learning rate taken from the stream, the rate divided when the
running loss stops falling). On sparse rows its updates are just in time:
each costs the batch's nonzeros, not the 2^18 columns. ``SGDClassifier``
runs beside it on the same batches; both print their held-out accuracy
and the seconds of the whole stream. GDClassifier starts at the largest
safe step with momentum 0.9, so its accuracy swings more in the first
batches and settles as the stream lowers its rate. On batches this small
SGDClassifier is the faster of the two, by more than ten times: each
``partial_fit`` call of
GDClassifier also passes over all 2^18 coefficients a few times (the
block's statistics, the probe of its loss, bringing every coefficient up to
date at the end), work that does not shrink with the batch.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier

from sklearn_gd import GDClassifier

rng = np.random.default_rng(0)
common = [f"word{i}" for i in range(300)]
topics = [[f"sport{i}" for i in range(200)], [f"science{i}" for i in range(200)]]


def documents(n):
    """Return ``n`` documents and their topic (0 or 1), 5% of labels flipped."""
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = list(rng.choice(common, size=30))
        words += list(rng.choice(topics[label], size=rng.integers(2, 8)))
        words += list(rng.choice(topics[1 - label], size=rng.integers(0, 3)))
        texts.append(" ".join(words))
    flipped = np.where(rng.random(n) < 0.05, 1 - labels, labels)
    return texts, flipped


vectorizer = HashingVectorizer(n_features=2**18, alternate_sign=False)
test_texts, y_test = documents(2_000)
X_test = vectorizer.transform(test_texts)

# %%
# Thirty batches of 1,000 documents, each hashed as it arrives. The
# classifiers see each batch once.
models = {
    "GDClassifier()": GDClassifier(random_state=0),
    "SGDClassifier(loss='log_loss')": SGDClassifier(loss="log_loss", random_state=0),
}
seconds = dict.fromkeys(models, 0.0)
accuracy = {name: [] for name in models}
for _ in range(30):
    texts, y = documents(1_000)
    X = vectorizer.transform(texts)
    for name, model in models.items():
        started = time.perf_counter()
        model.partial_fit(X, y, classes=[0, 1])
        seconds[name] += time.perf_counter() - started
        accuracy[name].append(model.score(X_test, y_test))

for name in models:
    print(f"{name}: held-out accuracy {accuracy[name][-1]:.3f}, {seconds[name]:.2f} s")

# %%
# Held-out accuracy after each batch. The best possible is about 0.95: one
# label in twenty is flipped.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
batches = np.arange(1, 31) * 1_000
for (name, scores), style in zip(accuracy.items(), ["-o", "--s"], strict=True):
    ax.plot(batches, scores, style, markersize=4, label=name)
ax.set_xlabel("documents seen")
ax.set_ylabel("held-out accuracy")
ax.legend()
plt.show()
