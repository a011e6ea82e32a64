"""
Tuning with GridSearchCV on a pandas DataFrame
==============================================

The estimators are ordinary scikit-learn estimators: they go into a Pipeline
with a ColumnTransformer, take a DataFrame, and their solver, batch size and
schedule (including a schedule object's own parameters) are searched like
any other parameter.
"""

import matplotlib.pyplot as plt
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
    GDRegressor(max_iter=200, tol=None, random_state=0),
)
search = GridSearchCV(
    model,
    {
        "gdregressor__solver": ["sgd", "adam"],
        "gdregressor__batch_size": [16, "full"],
        "gdregressor__schedule": ["constant", WarmRestarts(period=5)],
    },
    cv=5,
).fit(frame, data.target)
print("best:", search.best_params_, f"R^2 = {search.best_score_:.3f}")

# %%
results = pd.DataFrame(search.cv_results_)
labels = results["params"].map(
    lambda p: (
        f"{p['gdregressor__solver']}, {p['gdregressor__batch_size']}, "
        f"{p['gdregressor__schedule']}"
    )
)
fig, ax = plt.subplots(figsize=(8, 4))
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax.set_xlim(0.3, 0.55)
ax.set_xlabel("cross-validated R²")
ax.set_title("solver × batch_size × schedule")
fig.tight_layout()
plt.show()
