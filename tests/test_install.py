"""Where an installed copy keeps its compiled kernels (sklearn_gd._cache)."""

from numba.core import config

from sklearn_gd._cache import is_source_checkout, kernel_cache, user_cache_root


def test_a_source_checkout_keeps_its_kernels_in_the_tree(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    package = tmp_path / "sklearn_gd"
    package.mkdir()
    assert is_source_checkout(package)
    with kernel_cache(package):
        assert config.CACHE_DIR == ""


def test_an_installed_copy_keeps_its_kernels_in_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = tmp_path / "site-packages" / "sklearn_gd"
    package.mkdir(parents=True)
    assert not is_source_checkout(package)
    with kernel_cache(package):
        # pip does not know files it did not install: none may land there.
        assert config.CACHE_DIR == user_cache_root()
        assert not config.CACHE_DIR.startswith(str(package))
    assert config.CACHE_DIR == ""


def test_a_numba_cache_dir_set_by_the_user_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "mine"))
    with kernel_cache(tmp_path / "site-packages" / "sklearn_gd"):
        assert config.CACHE_DIR == str(tmp_path / "mine")
