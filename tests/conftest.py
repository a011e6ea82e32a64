"""Data sets shared by the tests: scikit-learn's bundled ones, standardised."""

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler


def _standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def diabetes():
    return _standardised(load_diabetes)


@pytest.fixture(scope="session")
def iris():
    return _standardised(load_iris)


@pytest.fixture(scope="session")
def cancer():
    return _standardised(load_breast_cancer)
