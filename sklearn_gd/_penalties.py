"""Penalty registry: how ``penalty``, ``alpha`` and ``l1_ratio`` split into L2 and L1.

    R(w) = (1 - l1_ratio) / 2 * ||w||_2^2 + l1_ratio * ||w||_1

The L2 part enters the gradient; the L1 part is applied after each step as a
proximal soft-threshold, which is what makes irrelevant coefficients exactly
zero. The intercept is never penalised. The compiled solver step
(:func:`sklearn_gd._solvers.solver_step`) applies both.
"""

# name -> the share of alpha that goes to the L1 part, or None for "use l1_ratio".
PENALTIES = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": None}


def penalty_strengths(penalty, alpha, l1_ratio):
    """Return ``(l2_strength, l1_strength)`` for the solver step."""
    share = PENALTIES[penalty]
    if penalty is None:
        return 0.0, 0.0
    if share is None:
        share = l1_ratio
    return alpha * (1.0 - share), alpha * share
