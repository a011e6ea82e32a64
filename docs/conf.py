"""Sphinx configuration of the sklearn-gd documentation."""

import logging

import sklearn_gd

project = "sklearn-gd"
author = "sklearn-gd developers"
copyright = "sklearn-gd developers, BSD-3-Clause licence"
release = sklearn_gd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build"]
templates_path = ["_templates"]

# -- API pages ---------------------------------------------------------------

autosummary_generate = True
# "On this page" lists a class's methods as fit(), not GDClassifier.fit().
toc_object_entries_show_parents = "hide"
# Methods of our own base (sparsify, densify) and set_callbacks, not those
# scikit-learn documents on its own pages (get_params, score, ...).
autodoc_default_options = {
    "inherited-members": "BaseEstimator,RegressorMixin,ClassifierMixin",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Links to other projects' documentation -----------------------------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "dask": ("https://docs.dask.org/en/stable", None),
}
# A build without network (CI runs on a machine that reaches only package
# registries) must not hang on the inventories.
intersphinx_timeout = 10


class _OfflineInventories(logging.Filter):
    """Turn intersphinx's "failed to reach any of the inventories" into a note.

    Without network the inventories cannot be fetched: the references to
    those projects then stay plain text, which is what the page shows anyway,
    and the build must still pass ``-W``. Sphinx logs that failure without a
    warning type, so ``suppress_warnings`` cannot select it; this filter,
    attached to intersphinx's own logger only, lowers exactly that message to
    an info line (shown without ``-q``). Every other warning is untouched.
    """

    def filter(self, record):
        if record.levelno == logging.WARNING and str(record.msg).startswith(
            "failed to reach any of the inventories"
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# -- Math: MathJax 3.2.2 shipped in _static, so formulas render offline -------

# Relative paths are relative to the built _static directory. The files are the
# unmodified es5 build of the "mathjax" 3.2.2 npm package (see
# _static/mathjax/README.txt).
mathjax_path = "mathjax/tex-chtml.js"

# -- Gallery -----------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"quickstart\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    # "Examples using ..." on the API pages (see _templates/autosummary).
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklearn_gd",),
    # Figures at twice their pixel size for high-density screens, and large
    # enough thumbnails to see what an example draws.
    "image_srcset": ["2x"],
    "thumbnail_size": (350, 250),
}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-gd {release}"
html_static_path = ["_static"]
html_css_files = ["css/sklearn-gd.css"]
html_show_sourcelink = True
html_copy_source = True
html_theme_options = {
    "logo": {"text": "sklearn-gd"},
    "navbar_start": ["navbar-logo", "navbar-version"],
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    # The search as a button at the right end, so that the page links and it
    # fit on one line.
    "navbar_persistent": [],
    "navbar_end": ["search-button", "theme-switcher"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "show_prev_next": True,
    # The right-hand "On this page" column, on the text pages only: gallery
    # pages (not listed) give its width to the figures.
    "secondary_sidebar_items": {
        page: ["page-toc", "sourcelink"]
        for page in ("install", "user_guide", "coming_from", "api", "changelog")
    }
    | {"generated/*": ["page-toc", "sourcelink"]},
    "footer_start": ["copyright", "footer-version"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# The left column lists a section's pages: only the API reference has them.
# Elsewhere it would stay empty, so the text and the figures get its width.
html_sidebars = {
    page: [] for page in ("index", "install", "user_guide", "coming_from", "changelog")
} | {"auto_examples/**": []}


def setup(app):
    logging.getLogger("sphinx.sphinx.ext.intersphinx").addFilter(_OfflineInventories())
