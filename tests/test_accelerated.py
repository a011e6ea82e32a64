"""The full-batch accelerated iteration against closed forms."""

import numpy as np
from numpy.testing import assert_allclose

from sklearn_gd._accelerated import AcceleratedGradient


def run(A, b, l1, iterations, adapt=False, rate=None):
    """Minimise ``x' A x / 2 - b' x + l1 ||x||_1`` from zero; return the iterate."""
    n = b.shape[0]
    L = np.linalg.eigvalsh(A)[-1]
    engine = AcceleratedGradient(
        np.zeros(n), rate or 1.0 / L, np.ones(n), n, l1, np.ones(n, bool), adapt
    )
    x = np.zeros(n)
    for _ in range(iterations):
        objective = 0.5 * x @ A @ x - b @ x + l1 * np.abs(x).sum()
        x = engine.step(objective, A @ x - b)
    return engine.x


def test_reaches_the_minimiser_of_an_ill_conditioned_quadratic_in_sqrt_kappa():
    # Condition number 1e4: plain gradient descent needs ~1e4 steps a factor
    # e (2e5 for these 12 digits); restarted FISTA reaches them in 4,000.
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    A = Q @ np.diag(np.logspace(0, -4, 30)) @ Q.T
    b = rng.normal(size=30)
    x = run(A, b, 0.0, 4000)
    expected = np.linalg.solve(A, b)
    assert_allclose(x, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_l1_prox_gives_the_soft_thresholded_solution_with_exact_zeros():
    # A diagonal: the minimiser is soft(b, l1) / diag(A), coordinate by coordinate.
    diagonal = np.array([1.0, 0.5, 0.01, 2.0, 0.2])
    b = np.array([0.3, -0.05, 0.02, -1.0, 0.1])
    l1 = 0.08
    x = run(np.diag(diagonal), b, l1, 3000)
    expected = np.sign(b) * np.maximum(np.abs(b) - l1, 0.0) / diagonal
    assert_allclose(x, expected, rtol=1e-9, atol=1e-12)
    assert (x[expected == 0.0] == 0.0).all()


def test_adaptive_step_grows_beyond_the_global_bound_where_curvature_is_low():
    # Started with a step 1,000 times too small, the measured curvature lets
    # the step grow to the true 1 / L and the iterate still converges.
    A = np.diag([1.0, 0.1])
    b = np.array([1.0, 1.0])
    x = run(A, b, 0.0, 400, adapt=True, rate=1e-3)
    assert_allclose(x, [1.0, 10.0], rtol=1e-8)
    assert not np.allclose(run(A, b, 0.0, 400, adapt=False, rate=1e-3), [1.0, 10.0])
