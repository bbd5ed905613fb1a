"""What the widgets offer and how they keep their values: the λ lists, snapping a value to the
nearest option, pick lists that stay small on big data, and widget values that survive a visit
to another page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from .settings import MAX_ITERATIONS, MAX_K


def log_steps(low: float, high: float, mantissas: Sequence[int] = (1, 2, 5)) -> list[float]:
    """Every m·10ᵉ (m in ``mantissas``) from ``low`` to ``high``, ascending: a log scale with
    round numbers (1-2-5 by default, 1-3 with ``mantissas=(1, 3)``)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    values = (float(f"{m}e{e}") for e in range(first, last + 1) for m in mantissas)
    return [v for v in values if low <= v <= high]


#: The Train page's λ: 0 (no regularisation) and a 1-2-5 log scale.
LAMBDAS = [0.0, *log_steps(1e-4, 500)]
#: The experiments' λ: a coarser 1-3 log scale (a sweep picks several of them).
EXPERIMENT_LAMBDAS = log_steps(1e-3, 100, mantissas=(1, 3))
#: The sweep's λ values before the user picks their own.
SWEEP_LAMBDAS = [0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
#: Implicit ALS's confidence α in c = 1 + α·r.
ALPHAS = [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0]
#: Relative changes of the objective below which a fit may stop.
TOLERANCES = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6]

# ----------------------------------------------------------------------------- number ranges
# What each numeric widget offers, lowest and highest (both included). The widgets are drawn
# with these bounds, and a link's values are checked against the same ones (``scenes``), so a
# link can ask for nothing a widget could not.
K_RANGE = (1, MAX_K)
LAMBDA_RANGE = (LAMBDAS[0], LAMBDAS[-1])
#: Weighted regularisation's damping n₀ (ridge λ·(n + n₀)): 0 is pure ALS-WR.
DAMPING_RANGE = (0.0, 1000.0)
ITERATIONS_RANGE = (1, MAX_ITERATIONS)
SEED_RANGE = (0, 2**31 - 1)
FRACTION_RANGE = (0.05, 0.5)
N_PER_USER_RANGE = (1, 5)
TOLERANCE_RANGE = (min(TOLERANCES), max(TOLERANCES))
PATIENCE_RANGE = (1, 10)
#: The Latent page's neighbours and recommendations.
NEIGHBOURS_RANGE = (3, 20)
#: The Reconstruction page's users (items) shown; fewer when the data have fewer.
SHOWN_RANGE = (1, 5000)
#: The replay's frames: the start and two half-steps per iteration.
FRAME_RANGE = (0, 2 * MAX_ITERATIONS)
#: The update by hand's iterations (and "next") and its ratings added (the data bound them).
UPDATE_ITERATION_RANGE = (1, MAX_ITERATIONS)
UPDATE_STEP_RANGE = (0, 2**31 - 1)
#: A user's or item's position in the data (a pick list of users or items by number).
INDEX_RANGE = (0, 2**31 - 1)
#: A rating value in a link (implicit mode's "count as an interaction"): the widget offers the
#: data's own values; a link's is checked to be a number here and against those on the page.
RATING_VALUE_RANGE = (-1e9, 1e9)
#: How ALS works: the k of the "different seeds, different optima" demo (fewer on small data).
SEEDS_K_RANGE = (1, 16)
#: Add yourself: how many of the most rated items are offered to rate (fewer on small data).
YOU_SHOWN_RANGE = (6, 30)
#: Implicit ALS's iterations (Train, implicit mode).
IMPLICIT_ITERATIONS_RANGE = (1, 30)
#: Experiments: iterations of each fit of the k × λ sweep, random starts of the recovery.
SWEEP_ITERATIONS_RANGE = (5, 30)
RECOVERY_STARTS_RANGE = (1, 3)
#: Experiments' pick lists: the top N evaluated, the seconds GD and SGD get, the held-out
#: fraction of the recovery, the λ of the bias-only baseline.
TOP_N = [5, 10, 20]
COMPARE_SECONDS = [0.5, 1.0, 2.0, 3.0]
RECOVERY_FRACTIONS = [0.1, 0.2, 0.3]
BIAS_LAMBDAS = [0.0, 1.0, 2.0, 5.0, 10.0, 25.0]


def lambda_options(current: float) -> list[float]:
    """The Train page's λ list, with ``current`` among them when it is a value of its own (a
    link's or the settings search's λ is shown as it is, not snapped to a round one)."""
    current = float(current)
    if current in LAMBDAS or not LAMBDA_RANGE[0] <= current <= LAMBDA_RANGE[1]:
        return list(LAMBDAS)
    return sorted([*LAMBDAS, current])


def snap(value: float, options: Sequence[float]) -> float:
    """The option nearest to ``value`` on a log scale (options are ≥ 0).

    An option equal to ``value`` is returned as it is; 0 or a negative value gives the smallest
    option (0 where it is offered); a value above every option gives the largest; a positive
    value otherwise gives the positive option nearest in log10 (a tie goes to the smaller).
    Raises ``ValueError`` for NaN or no options.
    """
    if not len(options):
        raise ValueError("there are no options to choose from")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"expected a number to snap to an option, got {value}")
    if value in options:
        return options[list(options).index(value)]
    positive = sorted(o for o in options if o > 0)
    if value <= 0 or not positive:
        return min(options)
    if value >= positive[-1]:
        return positive[-1]
    return min(positive, key=lambda o: abs(math.log10(o) - math.log10(value)))


# ----------------------------------------------------------------------------- pick lists
#: Pick lists offer at most this many names: every option travels to the browser on every run
#: (162,541 user ids of a MovieLens-25M model are ~2 MB), and nobody scrolls past a thousand.
MAX_CHOICES = 1000


def choice_options(names: np.ndarray, *, counts: np.ndarray | None = None, keep: Any = ()) -> list:
    """The names a pick list offers: all of them, in the given order, up to ``MAX_CHOICES``;
    beyond that the ``MAX_CHOICES`` with the most ratings (``counts``; else the first ones),
    still in the given order, plus the names in ``keep`` (current choices) that exist."""
    names = np.asarray(names, dtype=object)
    if len(names) <= MAX_CHOICES:
        return list(names)
    if counts is None:
        top = np.arange(MAX_CHOICES)
    else:
        top = np.sort(np.argsort(-np.asarray(counts), kind="stable")[:MAX_CHOICES])
    offered = list(names[top])
    shown = set(offered)
    wanted = [name for name in keep if name is not None and name not in shown]
    if wanted:
        known = set(names.tolist())
        offered += [name for name in dict.fromkeys(wanted) if name in known]
    return offered


def index_of(names: np.ndarray, name: Any) -> int:
    """The row of a name picked from a list of ``names`` (the first, should it repeat)."""
    found = np.flatnonzero(np.asarray(names) == name)
    if not len(found):
        raise ValueError(f"{name!r} is not among the {len(names)} names offered")
    return int(found[0])


# ----------------------------------------------------------------------------- widget memory
#: Session key of the widget values kept while their widgets are not drawn.
MEMORY_KEY = "controls_saved"


def remembered(key: str, default: Any, valid: Callable[[Any], bool] | None = None) -> str:
    """The key of a widget that gets its last value back (or ``default``; also when ``valid``
    says the value no longer fits): Streamlit forgets the value of a widget it did not draw in
    the last run, e.g. after a visit to another page. Call ``remember`` after drawing."""
    ss = st.session_state
    saved = ss.setdefault(MEMORY_KEY, {})
    if key not in ss:
        ss[key] = saved.get(key, default)
    if valid is not None and not valid(ss[key]):
        ss[key] = default
    return key


def keep_choice(key: str, options: Sequence[Any], default: Any) -> None:
    """Start a choice widget at ``default``, and send a remembered or linked choice that these
    data do not offer (the dataset changed, or a link names something else) back to it."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def keep_in_range(key: str, low: int, high: int, default: int) -> None:
    """Start a slider at ``default``, and pull a remembered or linked value into its range (the
    dataset may have changed, or a link may ask for more than these data have)."""
    value = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(int(value), low), high))


def remember(prefix: str) -> None:
    """Keep the values of the widgets whose keys start with ``prefix`` for ``remembered``."""
    ss = st.session_state
    saved = ss.setdefault(MEMORY_KEY, {})
    for key in list(ss):
        if str(key).startswith(prefix):
            saved[key] = ss[key]
