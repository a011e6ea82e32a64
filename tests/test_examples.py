"""Every example script runs to the end and draws its figures."""

import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))
# Command lines for the examples meant for big data: small sizes for the tests.
ARGUMENTS = {
    "dask_larger_than_memory.py": [
        "--rows", "40000", "--chunk-rows", "10000", "--memory-limit", "1GiB"
    ],
}  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    monkeypatch.setattr(sys, "argv", [str(path), *ARGUMENTS.get(path.name, [])])
    plt.close("all")
    runpy.run_path(str(path), run_name="__main__")
    if path.name.startswith("plot_"):
        assert plt.get_fignums(), f"{path.name} drew no figure"
    plt.close("all")
