"""Where numba keeps the compiled kernels of an installed copy.

``@njit(cache=True)`` writes each kernel's machine code next to its source,
in ``__pycache__``. For a copy installed by ``pip install .`` that is inside
``site-packages``, where pip does not know the files: ``pip uninstall`` left
the folder behind, and a later editable install of the same package found
that folder first and failed to import (``cannot import name
'GDClassifier' from 'sklearn_gd' (unknown location)``). An installed copy
therefore keeps its kernels in the user's cache directory instead, under
``sklearn-gd/numba``; a source checkout (editable installs, the tests) keeps
them in the tree, and a ``NUMBA_CACHE_DIR`` set by the user always wins.
"""

import os
import sys
from contextlib import contextmanager
from pathlib import Path


def user_cache_root():
    """Return the per-user cache folder for the compiled kernels."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return str(Path(base) / "sklearn-gd" / "numba")


def is_source_checkout(package_dir):
    """Whether ``package_dir`` is the package folder of a source checkout."""
    return (Path(package_dir).resolve().parent / "pyproject.toml").is_file()


@contextmanager
def kernel_cache(package_dir):
    """Send the caches of kernels compiled inside this block out of an install."""
    from numba.core import config

    if config.CACHE_DIR or is_source_checkout(package_dir):
        yield
        return
    config.CACHE_DIR = user_cache_root()
    try:
        yield
    finally:
        config.CACHE_DIR = ""
