"""What the widgets offer: the λ lists, snapping a value to the nearest option (edge cases: 0,
negatives, values between options, far outside them, on a log scale), and widget memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard import controls
from dashboard.controls import (
    ALPHAS,
    EXPERIMENT_LAMBDAS,
    LAMBDAS,
    SWEEP_LAMBDAS,
    TOLERANCES,
    log_steps,
    snap,
)


def test_the_lambda_lists_are_round_log_scales():
    assert LAMBDAS[:4] == [0.0, 0.0001, 0.0002, 0.0005]
    assert LAMBDAS[-3:] == [100.0, 200.0, 500.0] and len(LAMBDAS) == 1 + 7 * 3
    assert EXPERIMENT_LAMBDAS == [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
    assert set(SWEEP_LAMBDAS) <= set(EXPERIMENT_LAMBDAS)  # a sweep's defaults can be picked
    for options in (LAMBDAS, EXPERIMENT_LAMBDAS, ALPHAS):
        assert options == sorted(set(options))
    # Each value is the float its short decimal names (0.3 is 0.3, not 0.30000000000000004).
    assert all(v == float(f"{v:g}") for v in LAMBDAS + EXPERIMENT_LAMBDAS)


def test_lambda_options_offer_a_value_of_its_own_as_it_is():
    assert controls.lambda_options(0.141) == sorted([*controls.LAMBDAS, 0.141])
    assert controls.lambda_options(0.2) == controls.LAMBDAS  # already a round one
    assert controls.lambda_options(1e6) == controls.LAMBDAS  # outside what the slider offers


def test_log_steps_take_every_mantissa_within_the_bounds():
    assert log_steps(0.05, 3) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
    assert log_steps(1, 1) == [1.0]
    assert log_steps(0.2, 40, mantissas=(1, 3)) == [0.3, 1.0, 3.0, 10.0, 30.0]


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        (0.0, LAMBDAS, 0.0),  # zero is offered: kept
        (-3.0, LAMBDAS, 0.0),  # a negative value means "none": the smallest option
        (0.0, EXPERIMENT_LAMBDAS, 0.001),  # zero not offered: the smallest option
        (-1.0, TOLERANCES, 1e-6),  # unsorted options: still the smallest
        (1.0, LAMBDAS, 1.0),  # an option itself
        (0.7, LAMBDAS, 0.5),  # log10: 0.7 is nearer 0.5 (0.146) than 1 (0.155)
        (0.75, LAMBDAS, 1.0),  # … and 0.75 nearer 1 (0.125) than 0.5 (0.176)
        (0.4, EXPERIMENT_LAMBDAS, 0.3),
        (2.0, EXPERIMENT_LAMBDAS, 3.0),  # log10 distance to 3 is 0.18, to 1 it is 0.30
        (1e-9, LAMBDAS, 0.0001),  # tiny but positive: the smallest positive option
        (1e9, LAMBDAS, 500.0),  # beyond the largest: the largest
        (math.inf, EXPERIMENT_LAMBDAS, 100.0),
        (3e-3, TOLERANCES, 1e-3),
        (math.sqrt(0.1 * 0.3), [0.1, 0.3], 0.1),  # exactly between on a log scale: the smaller
    ],
)
def test_snap_edge_cases(value, options, expected):
    assert snap(value, options) == expected


def test_snap_refuses_what_it_cannot_place():
    with pytest.raises(ValueError, match="expected a number"):
        snap(float("nan"), LAMBDAS)
    with pytest.raises(ValueError, match="no options"):
        snap(1.0, [])


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_snap_gives_an_option_no_farther_on_a_log_scale_than_any_other(value):
    chosen = snap(value, EXPERIMENT_LAMBDAS)
    assert chosen in EXPERIMENT_LAMBDAS
    distance = abs(math.log10(chosen) - math.log10(value))
    assert all(
        distance <= abs(math.log10(o) - math.log10(value)) + 1e-12 for o in EXPERIMENT_LAMBDAS
    )


def test_choice_options_cap_big_lists_to_the_most_rated_and_keep_the_choice(monkeypatch):
    monkeypatch.setattr(controls, "MAX_CHOICES", 3)
    names = np.array(["a", "b", "c", "d", "e"], dtype=object)
    counts = np.array([5, 1, 9, 7, 0])
    assert controls.choice_options(names[:3], counts=counts[:3]) == ["a", "b", "c"]
    assert controls.choice_options(names, counts=counts) == ["a", "c", "d"]  # given order
    assert controls.choice_options(names, counts=counts, keep=["e", "zzz", None, "a"]) == [
        "a",
        "c",
        "d",
        "e",
    ]
    assert controls.choice_options(names) == ["a", "b", "c"]


def memory_script():
    """A widget drawn on some runs only, as on a page the user leaves and comes back to."""
    import streamlit as st

    from dashboard.controls import remember, remembered

    if st.session_state.get("draw", True):
        st.slider("k", 1, 10, key=remembered("demo_w_k", 3, valid=lambda v: v <= 8))
        remember("demo_w_")


def test_a_remembered_widget_gets_its_value_back_after_runs_without_it():
    at = AppTest.from_function(memory_script)
    at.run()
    assert at.slider(key="demo_w_k").value == 3  # the default
    at.slider(key="demo_w_k").set_value(7).run()
    at.session_state["draw"] = False
    at.run()  # another page: Streamlit forgets the widget's value
    at.session_state["draw"] = True
    at.run()
    assert at.slider(key="demo_w_k").value == 7
    at.slider(key="demo_w_k").set_value(10).run()
    at.run()
    assert at.slider(key="demo_w_k").value == 3  # no longer valid: back to the default


def test_index_of_finds_a_picked_name_and_says_when_it_is_missing():
    names = np.array(["Ann", "Ben", "Cy", "Ben"], dtype=object)
    assert [controls.index_of(names, n) for n in ("Ann", "Ben", "Cy")] == [0, 1, 2]
    with pytest.raises(ValueError, match="'Dee' is not among the 4 names"):
        controls.index_of(names, "Dee")


def kept_script():
    """Choices and a slider whose remembered values may not fit the data any more."""
    import streamlit as st

    from dashboard.controls import keep_choice, keep_in_range

    options = st.session_state.get("options", ["a", "b", "c"])
    keep_choice("demo_pick", options, options[-1])
    st.selectbox("pick", options, key="demo_pick")
    keep_in_range("demo_n", 3, st.session_state.get("high", 20), 8)
    st.slider("n", 3, st.session_state.get("high", 20), key="demo_n")


def test_kept_choices_fall_back_to_the_default_and_numbers_into_range():
    at = AppTest.from_function(kept_script)
    at.run()
    assert at.selectbox(key="demo_pick").value == "c"  # the default
    assert at.slider(key="demo_n").value == 8
    at.selectbox(key="demo_pick").set_value("a").run()
    at.slider(key="demo_n").set_value(17).run()
    assert at.selectbox(key="demo_pick").value == "a"  # a valid choice stays
    at.session_state["options"] = ["x", "y"]  # other data: "a" is gone
    at.session_state["high"] = 12  # and fewer rows: 17 is too many
    at.run()
    assert not at.exception
    assert at.selectbox(key="demo_pick").value == "y"
    assert at.slider(key="demo_n").value == 12
