"""A link's bad values: every parameter the scene codec reads refuses out-of-range, non-numeric,
NaN/inf, huge and unknown values with a note that names the parameter and what it accepts, and
the app shows that note (never the page error) while the rest of the link still applies."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import als_core as ac
from dashboard import controls, scenes, talks
from dashboard.settings import DEFAULT_SETTINGS
from tests.app_support import open_app, shown

#: Values no number parameter may take (besides its own out-of-range ones below).
NOT_NUMBERS = ["two", "", "nan", "inf", "-inf", "1e400", "0x10", "1,5"]
#: (page, parameter) -> the range its widget offers (lowest, highest).
NUMBER_RANGES = {
    (None, "k"): controls.K_RANGE,
    (None, "lam"): controls.LAMBDA_RANGE,
    (None, "it"): controls.ITERATIONS_RANGE,
    (None, "seed"): controls.SEED_RANGE,
    (None, "frac"): controls.FRACTION_RANGE,
    (None, "hold"): controls.N_PER_USER_RANGE,
    (None, "tol"): controls.TOLERANCE_RANGE,
    (None, "pat"): controls.PATIENCE_RANGE,
    (None, "damp"): controls.DAMPING_RANGE,
    ("update", "iter"): controls.UPDATE_ITERATION_RANGE,
    ("update", "step"): controls.UPDATE_STEP_RANGE,
    ("replay", "frame"): controls.FRAME_RANGE,
    ("reconstruction", "n_users"): controls.SHOWN_RANGE,
    ("reconstruction", "n_items"): controls.SHOWN_RANGE,
    ("latent", "n"): controls.NEIGHBOURS_RANGE,
    ("talk", "slide"): (1, talks.MAX_SLIDES),
    ("home", "seeds_k"): controls.SEEDS_K_RANGE,
    ("train", "imp_like"): controls.RATING_VALUE_RANGE,
    ("train", "imp_k"): controls.K_RANGE,
    ("train", "imp_it"): controls.IMPLICIT_ITERATIONS_RANGE,
    ("train", "imp_user"): controls.INDEX_RANGE,
    ("train", "imp_item"): controls.INDEX_RANGE,
    ("add_yourself", "n"): controls.YOU_SHOWN_RANGE,
    ("experiments", "compare_k"): controls.K_RANGE,
    ("experiments", "missing_k"): controls.K_RANGE,
    ("experiments", "sweep_iter"): controls.SWEEP_ITERATIONS_RANGE,
    ("experiments", "sweep_at_k"): controls.K_RANGE,
    ("experiments", "recovery_starts"): controls.RECOVERY_STARTS_RANGE,
    ("experiments", "implicit_interactions"): controls.RATING_VALUE_RANGE,
    ("experiments", "implicit_k"): controls.K_RANGE,
    ("experiments", "implicit_user"): controls.INDEX_RANGE,
    ("experiments", "implicit_item"): controls.INDEX_RANGE,
    ("experiments", "baselines_k"): controls.K_RANGE,
}
#: (page, parameter) -> values it must refuse although they are words.
WORD_VALUES = {
    (None, "reg"): ["fancy", "", "Plain"],
    (None, "bias"): ["maybe", "2", ""],
    (None, "split"): ["sideways", ""],
    (None, "stop"): ["never", ""],
    ("update", "side"): ["both", ""],
    ("reconstruction", "order"): ["random", ""],
    ("latent", "colour"): ["red", ""],
    ("latent", "map"): ["users only", ""],
    ("experiments", "section"): ["nonsense", ""],
    (None, "present"): ["sometimes", ""],
    (None, "data"): ["ftp://x", "sample"],  # empty: no data asked for
    ("data", "order"): ["random", ""],
    ("latent", "sim"): ["euclidean", ""],
    ("train", "mode"): ["both", ""],
    ("train", "imp_lam"): ["0.7", "x", ""],
    ("train", "imp_alpha"): ["3", "-1"],
    ("train", "imp_solver"): ["lu", ""],
    ("train", "imp_n"): ["7", "0"],
    ("add_yourself", "stars"): ["Heat:9", "Heat:0", "Heat", "Heat:x", ":3", "Heat:2.5"],
    ("experiments", "compare_lam"): ["0.7", "1e9"],
    ("experiments", "compare_reg"): ["fancy", ""],
    ("experiments", "compare_biases"): ["maybe", ""],
    ("experiments", "compare_budget"): ["0.25", "60"],
    ("experiments", "compare_x"): ["minutes", ""],
    ("experiments", "compare_logx"): ["2", ""],
    ("experiments", "missing_lam"): ["0.7"],
    ("experiments", "missing_clipped"): ["perhaps"],
    ("experiments", "sweep_ks"): ["0~2", "1~x", "1~99"],
    ("experiments", "sweep_lams"): ["0.7", "1~nan"],
    ("experiments", "sweep_reg"): ["fancy"],
    ("experiments", "sweep_biases"): ["maybe"],
    ("experiments", "sweep_at_lam"): ["0.7"],
    ("experiments", "recovery_ks"): ["3~1", "0~2", "1", "1~2~3", "1~99"],
    ("experiments", "recovery_lam"): ["0.7"],
    ("experiments", "recovery_fraction"): ["0.5", "x"],
    ("experiments", "implicit_n"): ["7"],
    ("experiments", "implicit_lam"): ["0.7"],
    ("experiments", "implicit_alpha"): ["3"],
    ("experiments", "implicit_relevant"): ["some", ""],
    ("experiments", "baselines_lam"): ["0.7"],
    ("experiments", "baselines_reg"): ["fancy"],
    ("experiments", "baselines_bias_lam"): ["3"],
}
#: Free text: any value decodes; names these data lack are dropped later (see below).
TEXT_PARAMS = {
    ("update", "who"),
    ("reconstruction", "also_users"),
    ("reconstruction", "also_items"),
    ("latent", "item"),
    ("latent", "user"),
    (None, "page"),  # any page name: app.py says when it does not exist
    (None, "gen"),  # the generator's settings: tested below
    ("talk", "talk"),  # a talk's code: the talk page says when it cannot be read
    ("talk", "follow"),  # a speaker view's room: the talk page says when there is none
}


def out_of_range(low: float, high: float) -> list[str]:
    """Just below and above the range, negative, and absurdly large."""
    step = 1 if isinstance(low, int) and isinstance(high, int) else high * 1e-6
    values = [low - step, high + step, -5, 1e300, 99999999]
    return [repr(v) if isinstance(v, float) else str(v) for v in values if not low <= v <= high]


def bad_value_table() -> list[tuple[str | None, str, str]]:
    table = []
    for (page, param), (low, high) in NUMBER_RANGES.items():
        table += [(page, param, value) for value in [*NOT_NUMBERS, *out_of_range(low, high)]]
        if isinstance(low, int):
            table.append((page, param, "2.5"))
    for (page, param), values in WORD_VALUES.items():
        table += [(page, param, value) for value in values]
    return table


def test_the_table_covers_every_parameter_the_codec_reads():
    covered = {param for _, param in [*NUMBER_RANGES, *WORD_VALUES, *TEXT_PARAMS]}
    assert covered == scenes.known_params()
    for page, choices in scenes.PAGE_CHOICES.items():
        for param in choices:
            assert (page, param) in {*NUMBER_RANGES, *WORD_VALUES, *TEXT_PARAMS}


@pytest.mark.parametrize(("page", "param", "value"), bad_value_table())
def test_a_bad_value_is_dropped_with_a_note_naming_the_parameter(page, param, value):
    params = {"page": page or "home", "data": "sample:tiny", "k": "3", param: value}
    params["page"] = page or params["page"]
    scene, problems = scenes.decode_scene(params)
    (problem,) = problems
    assert problem.startswith(f"{param}={value!r} was ignored (expected ")
    if (page, param) in NUMBER_RANGES:
        low, high = NUMBER_RANGES[(page, param)]
        shown = (f"{low:,}", f"{high:,}") if isinstance(low, int) else (f"{low:g}", f"{high:g}")
        assert f"from {shown[0]} to {shown[1]}" in problem
    # The rest of the link applies, and the bad value left no trace.
    if param != "k":
        assert scene.settings["k"] == 3
    if param != "data":
        assert scene.data == "sample:tiny"
    key = {**scenes.MODEL_PARAMS, **scenes.EXTRA_PARAMS, **scenes.PAGE_CHOICES.get(page, {})}
    if param in key:
        assert key[param][0] not in {**scene.settings, **scene.choices}


@pytest.mark.parametrize(("page", "param"), list(NUMBER_RANGES))
def test_the_ends_of_each_range_are_accepted(page, param):
    for end in NUMBER_RANGES[(page, param)]:
        scene, problems = scenes.decode_scene({"page": page or "home", param: str(end)})
        assert problems == []
        assert end in {**scene.settings, **scene.choices}.values()


every_param = st.sampled_from(sorted(scenes.known_params()))
any_text = st.one_of(
    st.text(max_size=30),
    st.floats().map(repr),
    st.integers(-(10**400), 10**400).map(str),
)


@settings(max_examples=300, deadline=None)
@given(page=st.sampled_from([None, *scenes.PAGE_CHOICES]), param=every_param, value=any_text)
def test_any_value_decodes_into_range_or_is_named_in_a_note(page, param, value):
    scene, problems = scenes.decode_scene({"page": page or "home", param: value})
    noted = [p for p in problems if p.startswith(f"{param}=")]
    decoded = {**scene.settings, **scene.choices}
    ranges = {p: r for (pg, p), r in NUMBER_RANGES.items() if pg in (None, page)}
    if param in ranges and not noted:
        (got,) = [v for v in decoded.values() if not isinstance(v, str) or v != "next"] or [None]
        if got is not None:
            low, high = ranges[param]
            assert isinstance(got, (int, float)) and math.isfinite(got) and low <= got <= high
    if noted:
        assert len(noted) == 1


def test_an_unknown_parameter_is_named_in_a_note():
    scene, problems = scenes.decode_scene({"page": "home", "lamda": "3", "k": "3"})
    assert problems == ["parameter 'lamda' is not one this app reads, so it was ignored"]
    assert scene.settings == {"k": 3}


@pytest.mark.parametrize(
    ("part", "named"),
    [
        ("foo:1", "foo:1"),
        ("n_users:nan", "n_users:nan"),
        ("n_users:1e400", "n_users:1e400"),
        ("n_users:2.5", "n_users:2.5"),
        ("density:inf", "density:inf"),
        ("scale:1", "scale:1"),
        ("clip:perhaps", "clip:perhaps"),
        ("rank", "rank"),
    ],
)
def test_a_bad_generator_setting_is_dropped_with_a_note(part, named):
    scene, problems = scenes.decode_scene({"data": "synthetic", "gen": f"n_items:30,{part},seed:4"})
    (problem,) = problems
    assert problem.startswith(f"generator setting {named!r} was ignored")
    assert scene.generator == {"n_items": 30, "seed": 4}


def test_the_link_knows_every_generator_setting():
    assert set(scenes.GENERATOR_PARAMS) == set(scenes.generator_defaults())


def test_names_these_data_lack_are_dropped_with_a_note():
    scene = scenes.Scene(
        page="reconstruction",
        choices={"recon_users": ["Ana", "Nobody"], "recon_items": ["Heat"], "recon_n_users": 4},
    )
    kept, problems = scenes.drop_unknown_names(scene, ["Ana", "Ben"], ["Heat", "Up"])
    assert kept.choices == {"recon_users": ["Ana"], "recon_items": ["Heat"], "recon_n_users": 4}
    assert problems == ["also_users='Ana~Nobody' was ignored (these data have no user 'Nobody')"]
    scene = scenes.Scene(page="update", choices={"update_side": "items", "update_item": "Ana"})
    kept, problems = scenes.drop_unknown_names(scene, ["Ana"], ["Heat"])
    assert kept.choices == {"update_side": "items"}
    assert problems == ["who='Ana' was ignored (these data have no item 'Ana')"]


# ----------------------------------------------------------------------------- in the app
def link_notices(at) -> list[str]:
    return [shown(w.value) for w in at.warning if "This link" in w.value]


def assert_no_page_error(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    errors = [shown(e.value) for e in at.error]
    assert not errors, errors


def test_a_negative_rank_in_a_link_gets_the_notice_not_the_page_error():
    at = open_app(params={"page": "train", "k": "-5"})
    assert_no_page_error(at)
    (notice,) = link_notices(at)
    assert "k='-5' was ignored" in notice and "from 1 to 64" in notice
    assert at.session_state["train_settings"]["k"] == DEFAULT_SETTINGS["k"]
    assert at.metric[0].label == "Train RMSE"  # the model was trained with the rest


def test_negative_lambda_and_huge_iterations_get_a_notice_each():
    at = open_app(params={"page": "train", "lam": "-1", "it": "99999999", "seed": "3"})
    assert_no_page_error(at)
    notices = link_notices(at)
    assert len(notices) == 2
    assert any("lam='-1'" in n and "from 0 to 500" in n for n in notices)
    assert any("it='99999999'" in n and "from 1 to 50" in n for n in notices)
    saved = at.session_state["train_settings"]
    assert (saved["lam"], saved["iterations"], saved["seed"]) == (1.0, 15, 3)


@pytest.mark.parametrize(
    "params",
    [
        {"page": "update", "iter": "-4", "step": "-9"},
        {"page": "replay", "frame": "1e12"},
        {"page": "reconstruction", "n_users": "-4", "n_items": "1e15"},
        {"page": "latent", "n": "100", "item": "[x](javascript:alert(1))"},
        {"page": "experiments", "section": "nonsense"},
        {"page": "home", "frac": "2", "hold": "-3", "pat": "0", "tol": "-1"},
        {"page": "home", "lamda": "3"},
    ],
)
def test_every_page_shows_a_notice_for_its_bad_link_values(params):
    at = open_app(params=params)
    assert_no_page_error(at)
    notices = link_notices(at)
    assert len(notices) == len(params) - 1, notices
    for param in params:
        if param != "page":
            assert any(f"{param}=" in n or f"'{param}'" in n for n in notices), (param, notices)


def test_a_link_asking_for_too_much_generated_data_is_refused_naming_the_limit():
    movie_night = open_app().session_state["data_fingerprint"]
    at = open_app(
        params={
            "page": "data",
            "data": "synthetic",
            "gen": "n_users:100000,n_items:100000,density:0.5",
            "k": "3",
        }
    )
    assert_no_page_error(at)
    (notice,) = link_notices(at)
    assert "5,000,000,000 ratings" in notice
    assert "lower the users, items or density. The data you had are still in use" in notice
    assert f"limit of {ac.MAX_SYNTHETIC_RATINGS:,}" in notice
    assert at.session_state["data_fingerprint"] == movie_night  # the data it had
    assert at.session_state["train_settings"]["k"] == 3  # the rest of the link


def test_the_generate_form_goes_through_the_same_library_limit():
    at = open_app("pages/data.py")
    before = at.session_state["data_fingerprint"]
    at.number_input(key="data_w_users").set_value(20_000)
    at.number_input(key="data_w_items").set_value(10_000)
    at.number_input(key="data_w_density").set_value(0.5)
    at.button[[b.label for b in at.button].index("Generate")].click().run()
    (error,) = [shown(e.value) for e in at.error]
    assert "100,000,000 ratings" in error
    assert f"limit of {ac.MAX_SYNTHETIC_RATINGS:,}" in error
    assert at.session_state["data_fingerprint"] == before
    assert any("still in use" in shown(i.value) for i in at.info)
