"""The compiled epoch kernels against the numpy reference loop, update for update."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from sklearn_gd._kernels import run_epoch_csr, run_epoch_dense
from sklearn_gd._lazy import workspace
from sklearn_gd._losses import LOSSES
from sklearn_gd._solvers import SOLVERS

from .reference import loss_derivative, reference_epoch

N_ROWS, N_FEATURES = 23, 5
# The SAGA memory and running average of the kernels that use neither: empty.
NO_SAGA = (np.zeros((0, 1)), np.zeros(0), np.zeros(0), np.zeros(2))


def _problem(loss, n_outputs, dtype, rng):
    X = rng.normal(size=(N_ROWS, N_FEATURES))
    X[rng.random(X.shape) < 0.4] = 0.0  # sparse-like, so CSR skips entries
    if LOSSES[loss].is_classification:
        Y = np.where(rng.random((N_ROWS, n_outputs)) < 0.5, 1.0, -1.0)
    else:
        Y = rng.normal(size=(N_ROWS, n_outputs)) * 2
    weights = rng.integers(0, 4, size=N_ROWS).astype(np.float64)
    weights[0] = 1.0
    weights *= len(weights) / weights.sum()
    return X.astype(dtype), Y.astype(dtype), weights.astype(dtype)


def _multinomial_problem(n_classes, dtype, rng):
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(dtype)
    Y = np.eye(n_classes)[rng.integers(0, n_classes, N_ROWS)].astype(dtype)
    return X, Y, np.ones(N_ROWS, dtype=dtype)


def _run_both(
    X, Y, weights, *, loss, multinomial, solver, batch_size, sparse, skip_state=False,
    center=None, precond=None, **kw,
):  # fmt: skip
    rng = np.random.default_rng(1)
    n_outputs = Y.shape[1]
    n_params = N_FEATURES * n_outputs + n_outputs
    dtype = X.dtype
    params = (rng.normal(size=n_params) * 0.3).astype(dtype)
    state = (np.abs(rng.normal(size=(2, n_params))) * 0.1).astype(dtype)
    order = rng.permutation(N_ROWS).astype(np.intp)
    n_batches = -(-N_ROWS // batch_size)
    learning_rates = 0.05 * 0.9 ** np.arange(n_batches)
    t = 3
    expected_W, expected_b, (v, s), expected_objective = reference_epoch(
        X.astype(np.float64), Y.astype(np.float64), weights.astype(np.float64),
        order, batch_size, learning_rates,
        params[:-n_outputs].reshape(N_FEATURES, n_outputs).astype(np.float64),
        params[-n_outputs:].astype(np.float64),
        [moment.reshape(N_FEATURES + 1, n_outputs) for moment in state], t,
        loss="multinomial" if multinomial else loss, solver=solver,
        center=center, precond=precond, **kw,
    )  # fmt: skip
    center = np.zeros(0, dtype=dtype) if center is None else center.astype(dtype)
    precond = np.ones(n_params, dtype=dtype) if precond is None else precond
    args = (
        weights, order, batch_size, learning_rates, params, state, t,
        kw["fit_intercept"], LOSSES[loss].code, multinomial, kw["epsilon"],
        SOLVERS[solver], kw["momentum"], kw["beta_2"], kw["l2"], kw["l1"],
    )  # fmt: skip
    if sparse:
        Xs = sp.csr_matrix(X)
        objective, n_updates, finite = run_epoch_csr(
            Xs.data,
            Xs.indices,
            Xs.indptr,
            Y,
            *args,
            precond.astype(dtype),
            *NO_SAGA,
            workspace(n_params, n_outputs),
        )
    else:
        objective, n_updates, finite = run_epoch_dense(
            X, Y, *args, center, precond.astype(dtype), *NO_SAGA
        )
    assert finite
    assert n_updates == n_batches
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    atol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(params[:-n_outputs], expected_W.ravel(), rtol=rtol, atol=atol)
    assert_allclose(params[-n_outputs:], expected_b, rtol=rtol, atol=atol)
    if not skip_state:
        assert_allclose(state[0], v.ravel(), rtol=rtol, atol=atol)
        assert_allclose(state[1], s.ravel(), rtol=rtol, atol=atol)
    assert_allclose(objective, expected_objective, rtol=rtol * 10)


SETTINGS = dict(epsilon=0.3, momentum=0.8, beta_2=0.99)


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_kernel_matches_reference_for_every_loss_and_solver(solver, loss, sparse):
    rng = np.random.default_rng(0)
    X, Y, weights = _problem(loss, 2, np.float64, rng)
    _run_both(
        X, Y, weights, loss=loss, multinomial=False, solver=solver, batch_size=4,
        sparse=sparse, fit_intercept=True, l2=0.01, l1=0.02, **SETTINGS,
    )  # fmt: skip


@pytest.mark.parametrize("batch_size", [1, 7, N_ROWS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_kernel_matches_reference_for_batch_sizes_and_dtypes(
    batch_size, dtype, fit_intercept, sparse
):
    rng = np.random.default_rng(1)
    X, Y, weights = _problem("squared_error", 1, dtype, rng)
    _run_both(
        X, Y, weights, loss="squared_error", multinomial=False, solver="nesterov",
        batch_size=batch_size, sparse=sparse, fit_intercept=fit_intercept,
        l2=0.1, l1=0.0, **SETTINGS,
    )  # fmt: skip


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_kernel_matches_reference_for_multinomial(solver, sparse):
    rng = np.random.default_rng(2)
    X, Y, weights = _multinomial_problem(4, np.float64, rng)
    _run_both(
        X, Y, weights, loss="log_loss", multinomial=True, solver=solver, batch_size=5,
        sparse=sparse, fit_intercept=True, l2=0.01, l1=0.01, **SETTINGS,
    )  # fmt: skip


def test_rmsprop_without_momentum_matches_reference():
    rng = np.random.default_rng(3)
    X, Y, weights = _problem("huber", 1, np.float64, rng)
    settings = {**SETTINGS, "momentum": 0.0}
    _run_both(
        X, Y, weights, loss="huber", multinomial=False, solver="rmsprop",
        batch_size=3, sparse=False, fit_intercept=True, l2=0.0, l1=0.05, **settings,
    )  # fmt: skip


def test_kernel_reports_non_finite_loss_and_stops():
    X = np.array([[1e200, 1e200]])
    Y = np.array([[1.0]])
    params = np.array([1e200, 1e200, 0.0])
    state = np.zeros((2, 3))
    objective, n_updates, finite = run_epoch_dense(
        X, Y, np.ones(1), np.array([0], dtype=np.intp), 1, np.array([1.0]), params,
        state, 0, True, LOSSES["squared_error"].code, False, 0.1, SOLVERS["sgd"],
        0.0, 0.999, 0.0, 0.0, np.zeros(0), np.ones(3), *NO_SAGA,
    )  # fmt: skip
    assert not finite
    assert n_updates == 0


def test_kernel_does_not_write_into_read_only_inputs():
    rng = np.random.default_rng(4)
    X, Y, weights = _problem("squared_error", 1, np.float64, rng)
    for array in (X, Y, weights):
        array.setflags(write=False)
    order = np.arange(N_ROWS, dtype=np.intp)
    order.setflags(write=False)
    params = np.zeros(N_FEATURES + 1)
    run_epoch_dense(
        X, Y, weights, order, 4, np.full(6, 0.1), params, np.zeros((2, N_FEATURES + 1)),
        0, True, 0, False, 0.1, 0, 0.9, 0.999, 0.0, 0.0, np.zeros(0),
        np.ones(N_FEATURES + 1), *NO_SAGA,
    )  # fmt: skip
    assert np.abs(params).sum() > 0


@pytest.mark.parametrize("batch_size", [1, 4, N_ROWS])
@pytest.mark.parametrize("loss", ["squared_error", "hinge"])
def test_scaled_sparse_sgd_matches_reference(batch_size, loss):
    # Plain SGD without L1 on CSR data takes the scaled-coefficient path.
    rng = np.random.default_rng(5)
    X, Y, weights = _problem(loss, 2, np.float64, rng)
    settings = {**SETTINGS, "momentum": 0.0}
    _run_both(
        X, Y, weights, loss=loss, multinomial=False, solver="sgd",
        batch_size=batch_size, sparse=True, fit_intercept=True, l2=0.3, l1=0.0,
        skip_state=True, **settings,
    )  # fmt: skip


@pytest.mark.parametrize("solver", ["sgd", "nesterov", "adam"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_centred_and_preconditioned_kernel_matches_reference(solver, n_outputs):
    rng = np.random.default_rng(6)
    X, Y, weights = _problem("squared_error", n_outputs, np.float64, rng)
    X = X * [1.0, 100.0, 0.01, 3.0, 1.0] + 5.0
    n_params = N_FEATURES * n_outputs + n_outputs
    _run_both(
        X, Y, weights, loss="squared_error", multinomial=False, solver=solver,
        batch_size=6, sparse=False, fit_intercept=True, l2=0.01, l1=0.01,
        center=X.mean(axis=0), precond=rng.uniform(0.5, 2.0, n_params), **SETTINGS,
    )  # fmt: skip


def saga_reference_epoch(
    X, Y, weights, order, batch_size, rates, W, b, table, mean, *, loss, epsilon,
    l2, l1, center,
):  # fmt: skip
    """SAGA with plain steps and the L1 prox, from the formulas, in numpy."""
    W, b, table = W.copy(), b.copy(), table.copy()
    mean_W, mean_b = mean[: -len(b)].reshape(W.shape).copy(), mean[-len(b) :].copy()
    A = X - center
    n = len(order)
    objectives = []
    for k, start in enumerate(range(0, n, batch_size)):
        rows = order[start : start + batch_size]
        value, derivative = loss_derivative(loss, Y[rows], A[rows] @ W + b, epsilon)
        D = weights[rows, None] * derivative
        change = D - table[rows]
        table[rows] = D
        grad_W, grad_b = A[rows].T @ change, change.sum(axis=0)
        estimate_W = grad_W / batch_size + mean_W
        estimate_b = grad_b / batch_size + mean_b
        mean_W += grad_W / n
        mean_b += grad_b / n
        penalty = 0.5 * l2 * np.sum(W**2) + l1 * np.abs(W).sum()
        objectives.append((weights[rows, None] * value).sum() / len(rows) + penalty)
        W = W - rates[k] * (estimate_W + l2 * W)
        W = np.sign(W) * np.maximum(np.abs(W) - rates[k] * l1, 0.0)
        b = b - rates[k] * estimate_b
    return W, b, table, np.concatenate([mean_W.ravel(), mean_b]), np.mean(objectives)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "hinge"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_saga_kernel_matches_reference(n_outputs, loss, sparse):
    rng = np.random.default_rng(7)
    X, Y, weights = _problem(loss, n_outputs, np.float64, rng)
    center = np.zeros(0) if sparse else X.mean(axis=0)
    n_params = N_FEATURES * n_outputs + n_outputs
    params = rng.normal(size=n_params) * 0.3
    table = rng.normal(size=(N_ROWS, n_outputs)) * 0.1  # as after an epoch
    table[weights == 0] = 0.0  # rows of zero weight never enter the table
    mean = rng.normal(size=n_params) * 0.1
    order = rng.permutation(N_ROWS).astype(np.intp)
    rates = np.full(-(-N_ROWS // 4), 0.05)
    W, b, expected_table, expected_mean, expected_objective = saga_reference_epoch(
        X, Y, weights, order, 4, rates, params[:-n_outputs].reshape(-1, n_outputs),
        params[-n_outputs:], table, mean, loss=loss, epsilon=0.3, l2=0.01, l1=0.02,
        center=center if center.shape[0] else 0.0,
    )  # fmt: skip
    args = (
        Y, weights, order, 4, rates, params, np.zeros((2, n_params)), 0, True,
        LOSSES[loss].code, False, 0.3, SOLVERS["sgd"], 0.0, 0.999, 0.01, 0.02,
    )  # fmt: skip
    if sparse:
        Xs = sp.csr_matrix(X)
        objective, _, finite = run_epoch_csr(
            Xs.data,
            Xs.indices,
            Xs.indptr,
            *args,
            np.ones(n_params),
            table,
            mean,
            *NO_SAGA[2:],
            workspace(n_params, n_outputs),
        )
    else:
        objective, _, finite = run_epoch_dense(
            X, *args, center, np.ones(n_params), table, mean, *NO_SAGA[2:]
        )
    assert finite
    assert_allclose(params[:-n_outputs], W.ravel(), rtol=1e-10, atol=1e-12)
    assert_allclose(params[-n_outputs:], b, rtol=1e-10, atol=1e-12)
    assert_allclose(table, expected_table, rtol=1e-10, atol=1e-12)
    assert_allclose(mean, expected_mean, rtol=1e-10, atol=1e-12)
    assert_allclose(objective, expected_objective, rtol=1e-10)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_running_average_of_the_iterates_matches_reference(n_outputs, sparse):
    rng = np.random.default_rng(8)
    X, Y, weights = _problem("squared_error", n_outputs, np.float64, rng)
    n_params = N_FEATURES * n_outputs + n_outputs
    params = rng.normal(size=n_params) * 0.3
    state = np.zeros((2, n_params))
    order = rng.permutation(N_ROWS).astype(np.intp)
    n_batches = -(-N_ROWS // 4)
    rates = np.full(n_batches, 0.05)
    settings = dict(
        fit_intercept=True, loss="squared_error", epsilon=0.1, solver="sgd",
        momentum=0.8, beta_2=0.999, l2=0.01, l1=0.0,
    )  # fmt: skip
    # The reference, one batch at a time, keeping every iterate.
    W = params[:-n_outputs].reshape(N_FEATURES, n_outputs)
    b = params[-n_outputs:]
    moments = [np.zeros((N_FEATURES + 1, n_outputs)) for _ in range(2)]
    iterates = []
    for k in range(n_batches):
        W, b, moments, _ = reference_epoch(
            X, Y, weights, order[4 * k : 4 * k + 4], 4, rates[k : k + 1], W, b,
            moments, k, **settings,
        )  # fmt: skip
        iterates.append(np.concatenate([W.ravel(), b]))
    start = rng.normal(size=n_params)  # an average of 3 earlier updates
    expected = (3 * start + np.sum(iterates[2:], axis=0)) / (3 + n_batches - 2)
    averaged = start.copy()
    args = (
        Y, weights, order, 4, rates, params, state, 0, True,
        LOSSES["squared_error"].code, False, 0.1, SOLVERS["sgd"], 0.8, 0.999, 0.01,
        0.0,
    )  # fmt: skip
    # An average of 3 updates so far; it goes on from row 9, the third batch.
    memory = (*NO_SAGA[:2], averaged, np.array([3.0, 9.0]))
    if sparse:
        Xs = sp.csr_matrix(X)
        run_epoch_csr(
            Xs.data,
            Xs.indices,
            Xs.indptr,
            *args,
            np.ones(n_params),
            *memory,
            workspace(n_params, 1),
        )
    else:
        run_epoch_dense(X, *args, np.zeros(0), np.ones(n_params), *memory)
    assert_allclose(params, iterates[-1], rtol=1e-10, atol=1e-12)
    assert_allclose(averaged, expected, rtol=1e-10, atol=1e-12)


def test_average_starts_with_the_update_that_sees_its_row():
    # Ten rows in batches of 8 and 2, averaging from row 16: the first epoch
    # (rows 1-10) is left out, and the second epoch's first batch (rows
    # 11-18) starts the average; its short last batch counts too.
    rng = np.random.default_rng(9)
    X, Y, _ = _problem("squared_error", 1, np.float64, rng)
    X, Y, weights = X[:10], Y[:10], np.ones(10)
    n_params = N_FEATURES + 1
    params = np.zeros(n_params)
    state = np.zeros((2, n_params))
    averaged = np.zeros(n_params)
    average_state = np.array([0.0, 16.0])

    def run(rows):
        run_epoch_dense(
            X, Y, weights, np.asarray(rows, dtype=np.intp), 8, np.full(2, 0.05),
            params, state, 0, True, LOSSES["squared_error"].code, False, 0.1,
            SOLVERS["sgd"], 0.0, 0.999, 0.0, 0.0, np.zeros(0), np.ones(n_params),
            *NO_SAGA[:2], averaged, average_state,
        )  # fmt: skip
        return params.copy()

    run(range(10))
    assert average_state[0] == 0 and not averaged.any()
    first = run(range(8))  # the batch that sees row 16
    assert average_state[0] == 1
    assert_allclose(averaged, first, rtol=1e-12)
    second = run(range(8, 10))
    assert average_state[0] == 2
    assert_allclose(averaged, (first + second) / 2, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("outputs", ["one", "multinomial"])
@pytest.mark.parametrize("rule", ["sgd", "nesterov", "saga"])
@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "none"])
def test_just_in_time_kernels_equal_the_eager_ones(
    intercept, rule, outputs, batch_size, dtype
):
    # sklearn_gd._lazy against the kernel that updates every coefficient at
    # every batch, over three epochs that share one workspace; a fifth of the
    # rows weigh nothing.
    from sklearn_gd._kernels import _run_epoch_csr_eager

    rng = np.random.default_rng(0)
    n_rows, n_features = 60, 40
    X = sp.random(n_rows, n_features, density=0.1, random_state=1, format="csr")
    X = X.astype(dtype)
    n_outputs = 3 if outputs == "multinomial" else 1
    if outputs == "multinomial":
        Y, loss = np.eye(3)[rng.integers(0, 3, n_rows)], LOSSES["log_loss"].code
    else:
        Y, loss = rng.normal(size=(n_rows, 1)), LOSSES["squared_error"].code
    Y = Y.astype(dtype)
    weights = rng.uniform(0.5, 1.5, n_rows).astype(dtype)
    weights[rng.random(n_rows) < 0.2] = 0.0
    n_params = n_features * n_outputs + n_outputs
    saga = rule == "saga"
    momentum = 0.0 if saga else 0.9
    lazy = (rng.normal(size=n_params) * 0.1).astype(dtype)
    lazy_state = np.zeros((2, n_params), dtype=dtype)
    lazy_state[0] = rng.normal(size=n_params) * 0.01
    eager, eager_state = lazy.copy(), lazy_state.copy()
    tables = [np.zeros((n_rows, n_outputs)), np.zeros((n_rows, n_outputs))]
    means = [np.zeros(n_params), np.zeros(n_params)]
    if not saga:
        tables = [np.zeros((0, n_outputs))] * 2
        means = [np.zeros(0)] * 2
    solver = SOLVERS["nesterov" if rule == "nesterov" else "sgd"]
    space = workspace(n_params, n_outputs)
    for _ in range(3):
        order = rng.permutation(n_rows).astype(np.intp)
        rates = np.full(-(-n_rows // batch_size), 0.05)
        common = (
            X.data, X.indices, X.indptr, Y, weights, order, batch_size, rates,
        )  # fmt: skip
        tail = (
            0, intercept, loss, outputs == "multinomial", 0.1, solver, momentum,
            0.999, 0.01, 0.0, np.ones(n_params, dtype=dtype),
        )  # fmt: skip
        got = run_epoch_csr(
            *common, lazy, lazy_state, *tail, tables[0], means[0], np.zeros(0),
            np.zeros(2), space,
        )  # fmt: skip
        expected = _run_epoch_csr_eager(
            *common, eager, eager_state, *tail, tables[1], means[1], np.zeros(0),
            np.zeros(2),
        )  # fmt: skip
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        assert got[1:] == expected[1:]
        assert got[0] == pytest.approx(expected[0], rel=rtol)
        assert_allclose(lazy, eager, rtol=rtol, atol=rtol * 1e-2)
        if saga:
            assert_allclose(means[0], means[1], rtol=rtol, atol=1e-12)
        else:
            assert_allclose(lazy_state[0], eager_state[0], rtol=rtol, atol=rtol * 1e-2)
    assert space.dtype == np.int32 and not space.any()  # each epoch counts from 0


@pytest.mark.parametrize("solver", ["auto", "sgd"])
def test_rows_that_store_a_column_twice_train_as_their_sum(solver):
    # The just-in-time kernels step a coefficient once per batch and add the
    # gradient of its later nonzeros (sklearn_gd._lazy): a column stored
    # twice in a row trains as the summed entry does.
    from sklearn_gd import GDClassifier

    rng = np.random.default_rng(0)
    X = sp.random(80, 30, density=0.2, random_state=2, format="csr")
    y = (X @ rng.normal(size=30) > 0).astype(int)
    X.data[:] = rng.uniform(0.5, 1.5, X.nnz)
    # Store the first entry of every row a second time, as two halves.
    first = X.indptr[:-1]
    data = np.insert(X.data, first, X.data[first] / 2)
    data[first + np.arange(first.shape[0]) + 1] /= 2
    indices = np.insert(X.indices, first, X.indices[first])
    indptr = X.indptr + np.arange(X.shape[0] + 1)
    repeated = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not repeated.has_canonical_format
    assert_allclose(repeated.toarray(), X.toarray(), rtol=1e-15)
    model = dict(solver=solver, batch_size=1, max_iter=3, tol=None, random_state=0)
    summed = GDClassifier(**model).fit(X, y)
    got = GDClassifier(**model).fit(repeated, y)
    assert_allclose(got.coef_, summed.coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(got.intercept_, summed.intercept_, rtol=1e-9)


def test_csr_squared_row_norms_match_scipy():
    from sklearn_gd._kernels import csr_squared_row_norms

    X = sp.random(50, 20, density=0.2, random_state=0, format="csr")
    X[7] = 0.0  # an empty row
    X.eliminate_zeros()
    expected = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    got = csr_squared_row_norms(X.data, X.indptr)
    assert got[7] == 0.0
    assert_allclose(got, expected, rtol=1e-14)
    X32 = X.astype(np.float32)
    assert_allclose(csr_squared_row_norms(X32.data, X32.indptr), expected, rtol=1e-6)
