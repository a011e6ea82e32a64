"""
Tuning with GridSearchCV on a pandas DataFrame
==============================================

The estimators are ordinary scikit-learn estimators: they go into a Pipeline
with a ColumnTransformer, take a DataFrame, and their parameters are searched
like any other. Here the search is over what changes the model: the strength
``alpha`` of an elastic-net penalty and its L1 share ``l1_ratio``. The
solver, batch size and schedule (including a schedule object's own
parameters) are searched the same way at the end, but they change how the
optimum is reached, not which optimum, and score alike.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gd import GDRegressor, WarmRestarts

data = load_diabetes(as_frame=True, scaled=False)
frame = data.data.assign(sex=data.data["sex"].map({1.0: "f", 2.0: "m"}))
numeric = [column for column in frame.columns if column != "sex"]
model = make_pipeline(
    make_column_transformer((StandardScaler(), numeric), (OneHotEncoder(), ["sex"])),
    GDRegressor(penalty="elasticnet"),
)
alphas = np.logspace(-2, 1.5, 11)
search = GridSearchCV(
    model,
    {"gdregressor__l1_ratio": [0.0, 0.5, 0.9], "gdregressor__alpha": alphas},
    cv=5,
).fit(frame, data.target)
best = search.best_params_
print(
    f"best: alpha={best['gdregressor__alpha']:.3g}, "
    f"l1_ratio={best['gdregressor__l1_ratio']}, R^2 = {search.best_score_:.3f}"
)

# %%
# The cross-validated R² against ``alpha``, one line per ``l1_ratio``, with
# the standard deviation over the five folds. The folds differ from each other
# more than the weak penalties do: up to ``alpha`` about 0.1 no setting
# changes the score. Beyond, the L2 penalty (``l1_ratio=0``, a ridge) shrinks
# every coefficient and its score falls first, while a mostly-L1 penalty sets
# the weakest features to zero and keeps R² near its best up to ``alpha``
# about 1.
results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
groups = results.groupby("param_gdregressor__l1_ratio")
for (l1_ratio, rows), marker, shift in zip(
    groups, "os^", [0.94, 1.0, 1.06], strict=True
):
    ax.errorbar(
        rows["param_gdregressor__alpha"].astype(float) * shift,
        rows["mean_test_score"],
        yerr=rows["std_test_score"],
        marker=marker,
        capsize=3,
        label=f"l1_ratio={l1_ratio:g}",
    )
ax.set_xscale("log")
ax.set(
    xlabel="alpha (penalty strength)",
    ylabel="cross-validated R² (mean ± std)",
    title="GDRegressor(penalty='elasticnet'), 5-fold CV on a DataFrame",
)
ax.legend(loc="lower left")
plt.show()

# %%
# The solver, batch size and schedule searched in the same way, with the
# best penalty and 200 epochs per fit. All but one reach the same optimum
# and score alike; plain ``sgd`` on mini-batches with a constant step stays
# at its noise floor, a little lower (the 'auto' schedule, 'adaptive' for
# mini-batches, or the default ``solver="auto"`` avoids that).
search = GridSearchCV(
    make_pipeline(
        search.best_estimator_[0],
        GDRegressor(penalty="elasticnet", max_iter=200, tol=None),
    ),
    {
        "gdregressor__alpha": [best["gdregressor__alpha"]],
        "gdregressor__l1_ratio": [best["gdregressor__l1_ratio"]],
        "gdregressor__solver": ["sgd", "adam"],
        "gdregressor__batch_size": [16, "full"],
        "gdregressor__schedule": ["constant", WarmRestarts(period=5)],
    },
    cv=5,
).fit(frame, data.target)
table = pd.DataFrame(search.cv_results_["params"]).rename(
    columns=lambda name: name.removeprefix("gdregressor__")
)
table["R^2"] = search.cv_results_["mean_test_score"]
print(table.drop(columns=["alpha", "l1_ratio"]).round(3).to_string(index=False))
