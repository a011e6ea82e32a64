"""Parameter and attribute descriptions shared by GDRegressor and GDClassifier.

The estimators' docstrings are templates filled from here, so the two stay in
step and the text is written once.
"""

OPTIMIZATION_PARAMETERS = """\
penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
    Regularisation term ``alpha * R(w)`` with
    ``R(w) = (1 - l1_ratio) / 2 * ||w||_2^2 + l1_ratio * ||w||_1``. 'l1' and
    'elasticnet' are applied by a proximal soft-threshold after each step, so
    irrelevant coefficients become exactly 0.0. The intercept is not penalised.

alpha : float, default=1e-4
    Strength of the penalty. The objective is scikit-learn's SGD one, so with
    ``n`` samples ``alpha`` corresponds to ``Ridge(alpha=alpha * n)`` and
    ``LogisticRegression(C=1 / (alpha * n))``.

l1_ratio : float, default=0.15
    Share of the L1 term for ``penalty='elasticnet'``, in [0, 1].

fit_intercept : bool, default=True
    Whether to fit an intercept.

solver : {'auto', 'sgd', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'saga'}, \
default='auto'
    The update rule. 'auto' picks one that converges to the exact optimum:
    accelerated proximal gradient (FISTA with restarts) for a full-batch
    ``fit``, 'saga' for mini-batches in memory or on a dask array, 'sgd'
    otherwise (``partial_fit``, memory maps, non-smooth losses);
    ``solver_`` records the choice. 'sgd' is heavy-ball momentum (plain
    gradient descent with ``momentum=0``), 'nesterov' Nesterov's
    accelerated gradient; 'adagrad', 'rmsprop' and 'adam' scale each
    coordinate by its gradient history; 'saga' corrects every mini-batch
    gradient with each row's last one, which removes the noise floor of
    mini-batches (``fit`` on data in memory or on dask workers, where the
    memory is refreshed each epoch: :ref:`local_sgd`). Formulas and when to
    pick which: :ref:`user guide <solvers>`.

learning_rate : 'auto' or float, default='auto'
    Base step size, multiplied by the schedule. 'auto' derives a safe step
    from the data (the smoothness of the objective seen by one batch; for
    the adaptive solvers, a first step of the size of the coefficients'
    scale) and stores it in ``learning_rate_``. On dense data, and on
    sparse data trained full batch, 'auto' also centres the features and
    scales each one's step by its variance, which leaves the optimum
    unchanged but lets features in different units converge together
    (sparse rows stay sparse: the centre enters through the intercept). A
    float keeps the textbook update, unscaled.
    Details: :ref:`user guide <learning_rate>`.

batch_size : int, 'full' or 'auto', default='auto'
    Rows per update: 1 is per-sample SGD, an int is mini-batch, 'full' is
    batch gradient descent. 'auto' is full batch in ``fit``: deterministic,
    and it converges to the exact optimum, where mini-batches at a constant
    step stop at a noise floor. In ``partial_fit`` 'auto' is the stream's
    critical batch size, ``L_max / L_full`` of its first block (between 1
    and 256; see the :ref:`user guide <streams>`).

momentum : float, default=0.9
    Decay of the running mean of gradients, in [0, 1): the heavy-ball
    coefficient for 'sgd', the look-ahead coefficient for 'nesterov', ``beta_1``
    for 'adam', the momentum of 'rmsprop' (0 turns it off). 'adagrad' ignores it.
    For 'sgd', 'nesterov' and 'rmsprop' the momentum buffer is reset to zero
    after an epoch whose objective rose (adaptive restart); with full batch,
    where the objective is exact, training also returns to the best point
    seen (Adam restarting both moments). The accelerated full-batch rule of
    ``solver='auto'`` sets its own momentum and ignores this one.

beta_2 : float, default=0.999
    Decay of the running mean of squared gradients for 'adam' and 'rmsprop'.

schedule : str, Schedule or callable, default='auto'
    How the learning rate changes during training: 'constant', 'invscaling',
    'exponential', 'step', 'cosine', 'warm_restarts', 'adaptive' (divide by 5
    when the loss plateaus), a schedule object such as
    ``WarmRestarts(period=10, mult=2)``, or a callable mapping an array of
    update counts to multipliers of ``learning_rate_``. 'auto' is 'constant'
    for full batch and 'adaptive' for mini-batches, whose constant-rate noise
    floor would otherwise end the fit through ``tol`` far from the optimum.
    In ``partial_fit`` the update count runs on across calls, an epoch is a
    call, and 'adaptive' judges plateaus on the stream's running loss.

max_iter : int, default=1000
    Maximum number of epochs (passes over the training data). A fit that
    ends here above ``tol`` raises a ``ConvergenceWarning``.

tol : float or None, default=1e-4
    The relative objective gap ``(f - f*) / f*`` to the optimum ``f*`` a fit
    aims for. Full-batch fits see the exact gradient and stop when their
    estimate of the gap (from the strong convexity of the L2 part, the
    duality gap for the squared error, see the :ref:`user guide <stopping>`)
    is below ``tol``.
    Mini-batch fits stop when the objective has not improved by ``tol``
    times itself for ``n_iter_no_change`` epochs, and are then judged by one
    exact pass. A fit whose estimate ends above ``tol`` says so with a
    ``ConvergenceWarning`` (the estimate is kept in ``gap_estimate_``).
    With ``early_stopping``, ``tol`` is the improvement of the validation
    score that counts, as in scikit-learn. None runs all ``max_iter`` epochs
    and never warns.

n_iter_no_change : int, default=5
    Epochs without improvement before stopping (or, with the 'adaptive'
    schedule, before dividing the learning rate; in ``partial_fit``, windows
    of the running loss, see the :ref:`user guide <streams>`).

early_stopping : bool, default=False
    Whether to hold out ``validation_fraction`` of the training data and monitor
    the validation score instead of the training loss. The coefficients of the
    best validation score are kept. ``partial_fit`` refuses it, as
    scikit-learn's SGD estimators do.

validation_fraction : float, default=0.1
    Share of the training data held out when ``early_stopping=True``.

shuffle : bool, default=True
    Whether to shuffle the rows every epoch.

random_state : int, RandomState instance or None, default=None
    Seeds the shuffling, the validation split and the row sample behind
    ``learning_rate='auto'`` on large data.

warm_start : bool, default=False
    Whether ``fit`` starts from the previous solution's coefficients. The solver
    state and the schedule start afresh.

average : bool or int, default=False
    Polyak-Ruppert averaging, as in ``SGDClassifier``: ``coef_`` and
    ``intercept_`` are the running average of the parameters after every
    update, which at a constant or slowly decaying rate lands far closer to
    the optimum than the last iterate (whose noise it averages out). True
    averages from the first update; an int ``n`` starts once ``n`` rows have
    been seen, leaving out the early iterates far from the optimum. With
    ``solver='auto'`` averaging runs averaged SGD ('sgd'); the fit stops on
    the plateau rule and its average is judged by one exact pass.
    ``partial_fit`` carries both the iterate and the average on. Not needed
    for an exact fit: full batch and SAGA converge without it.

verbose : int, default=0
    Print one line per epoch when positive.

n_jobs : int, default=None
    Threads for full-batch epochs on in-memory data or a memory map: the rows
    are split into one part per thread and the parts' gradients added up.
    ``None`` means 1, ``-1`` all cores. Data under 10,000 rows and
    mini-batch epochs use one thread; a dask ``X`` trains in parallel on
    its workers (:ref:`local_sgd`). ``benchmarks/run.py`` measures the gain."""

FITTED_ATTRIBUTES = """\
n_iter_ : int
    Number of epochs run.

t_ : int
    Number of parameter updates made.

loss_curve_ : list of float
    Objective per epoch: the penalised mean loss averaged over the epoch's
    batches; for full batch, the exact objective at the point the epoch
    started from (for the hinge with ``solver='auto'``, that of the smoothed
    hinge it descends on). ``best_loss_`` is the objective of the returned
    coefficients.

lr_curve_ : list of float
    Learning rate at the start of each epoch.

learning_rate_ : float
    The base learning rate used (the resolved value of ``learning_rate``).

best_loss_ : float or None
    The exact training objective of the returned coefficients after ``fit``;
    after ``partial_fit``, the lowest running loss of the stream (the mean
    loss of its batches before their updates, over a window of calls); None
    with ``early_stopping``.

gap_estimate_ : float
    Estimate of the returned coefficients' relative objective gap
    ``(f - f*) / f*`` (an upper bound but for a second-order intercept
    term, see the :ref:`user guide <stopping>`); ``inf`` where the gradient
    is still too large to bound it, ``nan`` where the loss has no such estimate
    ('epsilon_insensitive', 'perceptron'), after ``partial_fit`` and with
    ``early_stopping``.

solver_ : str
    The update rule used: ``solver``, or what 'auto' chose ('accelerated',
    'saga' or 'sgd').

validation_scores_ : list of float or None
    Validation score per epoch, when ``early_stopping=True``; else None.

best_validation_score_ : float or None
    Best validation score, when ``early_stopping=True``; else None.

n_features_in_ : int
    Number of features seen during fit.

feature_names_in_ : ndarray of shape (``n_features_in_``,)
    Names of the features, when X has string column names."""


def _indented(text):
    # The placeholder sits at the class docstring's 4-space indent; indent the rest.
    return text.replace("\n", "\n    ")


def fill_docstring(template):
    """Return ``template`` with the shared parameter and attribute sections filled in.

    The template marks the shared sections ``{optimization_parameters}`` and
    ``{fitted_attributes}``; literal braces in it are doubled.
    """
    return template.format(
        optimization_parameters=_indented(OPTIMIZATION_PARAMETERS),
        fitted_attributes=_indented(FITTED_ATTRIBUTES),
    )
