"""Sphinx configuration of the sklearn-gd documentation."""

import sklearn_gd

project = "sklearn-gd"
copyright = "sklearn-gd developers"
release = sklearn_gd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Intersphinx needs the network, which builds here do not have: references to
# scikit-learn and scipy are written as plain literals instead.
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"quickstart\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
}

html_theme = "alabaster"
html_theme_options = {
    "description": "Linear models trained by every variant of gradient descent",
    "fixed_sidebar": True,
}
exclude_patterns = ["_build"]
templates_path = ["_templates"]
