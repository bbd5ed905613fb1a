"""Every widget is in the link, or deliberately not: each page is run (every experiment run
once, the Train page in both modes), every widget key it creates is collected, and each one is
either read and written by the scene codec (``scenes``) or listed below with why not. A new
widget fails this test until someone decides. Then round trips: set a widget, read the address
bar, open a fresh session on that link, find the same value.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import scenes, talks
from dashboard.experiment_work import EXPERIMENTS
from tests.app_support import chart, open_app, rerun, shown

#: Widgets that are deliberately not in the link, by key (``*`` matches any text), with why.
NOT_IN_LINK: dict[str, str] = {
    # Actions: a click does something; its effect (new data, a model, a step) is in the link.
    "talk_add_view": "adds a slide to the talk",
    "*_run": "starts an experiment (its settings are in the link)",
    "replay_play": "plays the replay (the frame is in the link)",
    "update_back": "one rating back (the step is in the link)",
    "update_next": "one rating on (the step is in the link)",
    "you_example": "fills in example stars (the stars are in the link)",
    "you_clear": "clears the stars (the stars are in the link)",
    "data_use_sample": "loads the chosen sample (the data are in the link)",
    "data_fetch_movielens": "downloads MovieLens (the data are in the link)",
    "data_open_model": "opens a saved model (its directory is in the link)",
    "FormSubmitter:data_generate_form-Generate": "generates data (its settings are in the link)",
    "train_tune_start": "starts the settings search",
    "exp_recovery_generate": "makes planted data for the recovery experiment",
    "presenter_exit": "leaves presenter mode (present=1 is in the link)",
    # What an action acts on: nothing is shown until the action, whose result is linked.
    "data_w_sample": "the sample 'Use this sample' loads",
    "data_w_users": "the generator form: its data are linked (data=synthetic&gen=...)",
    "data_w_items": "the generator form",
    "data_w_rank": "the generator form",
    "data_w_density": "the generator form",
    "data_w_noise": "the generator form",
    "data_w_seed": "the generator form",
    "data_w_skew": "the generator form",
    "data_w_clusters": "the generator form",
    "data_w_model_dir": "the directory 'Open' opens",
    "train_w_tune_budget": "the budget of the settings search (a job the user starts)",
    # Files: a link cannot carry a file (data=upload:<name> asks for it again).
    "data_w_upload": "a file",
    "data_w_item_names": "a file",
    "data_w_user_names": "a file",
    "data_w_model_zip": "a file",
    "data_w_duplicates": "how an uploaded file is read",
    # Downloads: they show nothing.
    "*_html": "downloads one figure",
    "*_slides_pack": "downloads a page's figures",
}

#: Widget types of ``streamlit.testing``'s element tree that hold a value or act.
WIDGET_TYPES = (
    "button",
    "button_group",
    "checkbox",
    "color_picker",
    "date_input",
    "download_button",
    "multiselect",
    "number_input",
    "radio",
    "select_slider",
    "selectbox",
    "slider",
    "text_area",
    "text_input",
    "time_input",
    "toggle",
    "file_uploader",
    "chat_input",
    "feedback",
    "pills",
    "segmented_control",
)


def widget_keys(at: AppTest) -> set[str]:
    """The keys of every widget this run drew (main area and sidebar)."""
    keys = set()
    for kind in WIDGET_TYPES:
        for widget in at.get(kind):
            key = getattr(widget, "key", None)
            assert key, f"a {kind} without a key cannot be in the link: {widget}"
            keys.add(key)
    return keys


def codec_keys(page: str) -> set[str]:
    """The widget keys the link reads and writes on ``page``."""
    keys = {"presenter_w_toggle"}  # present=1
    keys |= {f"train_w_{key}" for key, _ in [*scenes.MODEL_PARAMS.values()]}
    keys |= {f"train_w_{key}" for key, _ in [*scenes.EXTRA_PARAMS.values()]}
    for param, (key, _) in scenes.PAGE_CHOICES.get(page, {}).items():
        if param == "who":
            keys |= {scenes.who_key("users"), scenes.who_key("items")}
        elif key == scenes.STARS_CHOICE:
            keys.add(scenes.stars_key("*", "*").replace("**", "*"))  # one per item
        else:
            keys.add(key)
    return keys


def decided(key: str, page: str) -> bool:
    patterns = [*codec_keys(page), *NOT_IN_LINK]
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


TINY = {"data": "sample:tiny"}
PLANTED = {"data": "synthetic", "gen": "n_users:40,n_items:30,rank:2,density:0.3,seed:0"}


def runs(page: str) -> Iterator[AppTest]:
    """The page's runs that, together, draw every widget it has."""
    path = talks.PAGE_FILES[page]
    if page == "experiments":
        cases = [(section, TINY) for section in EXPERIMENTS]
        cases.append(("recovery", PLANTED))  # its settings need data with planted factors
        for section, data in cases:
            params = {**data, "section": section, "compare_budget": "0.5"}
            at = open_app(path, params=params)
            yield at
            run = [b for b in at.button if b.key == f"exp_{section}_run"]
            if run:
                run[0].click()
                yield rerun(at)
        return
    if page == "train":
        yield open_app(path, params=TINY)
        yield open_app(
            path,
            params={**TINY, "mode": "implicit", "split": "random", "stop": "patience"},
        )
        yield open_app(path, params={**TINY, "reg": "weighted", "split": "per_user"})
        yield open_app(path, params={**TINY, "stop": "tolerance"})
        return
    if page == "add_yourself":
        at = open_app(path)
        yield at
        [b for b in at.button if b.key == "you_example"][0].click()
        yield rerun(at)
        return
    yield open_app(path)
    if page == "home":  # presenter mode has its own exit button
        yield open_app(path, params={"present": "1"})
    if page == "update":
        yield open_app(path, params={"side": "items"})


@pytest.fixture(scope="module")
def seen_by_page() -> dict[str, set[str]]:
    """Every widget key each page drew, over all of its runs (collected once: they are slow)."""
    seen = {}
    for page in talks.PAGE_FILES:
        seen[page] = set()
        for at in runs(page):
            seen[page] |= widget_keys(at)
    return seen


@pytest.mark.parametrize("page", list(talks.PAGE_FILES))
def test_every_widget_is_in_the_link_or_deliberately_not(page, seen_by_page):
    seen = seen_by_page[page]
    undecided = sorted(key for key in seen if not decided(key, page))
    assert not undecided, (
        f"widgets on {page} neither in the link (dashboard/scenes.py) nor in NOT_IN_LINK: "
        f"{undecided}"
    )
    # Whatever the link reads for this page is a widget the page draws (no stale entry).
    linked = {key for key in codec_keys(page) if not key.startswith("train_w_")}
    linked -= {"presenter_w_toggle"}
    for key in linked:
        assert any(fnmatch.fnmatchcase(s, key) for s in seen), f"{page}: no widget {key}"


def test_every_exception_is_a_widget_some_page_still_has(seen_by_page):
    seen = set().union(*seen_by_page.values())
    stale = [key for key in NOT_IN_LINK if not any(fnmatch.fnmatchcase(s, key) for s in seen)]
    assert not stale, f"no page draws these any more, drop them from NOT_IN_LINK: {stale}"


# ------------------------------------------------------------------------------ round trips
def reopened(at: AppTest, page: str) -> AppTest:
    """A fresh session on the link ``at``'s address bar shows now."""
    params = {k: at.query_params[k] for k in at.query_params}
    params = {k: v[-1] if isinstance(v, list) else v for k, v in params.items()}
    params["page"] = page
    return open_app(params=params)


def test_the_latent_neighbour_ranking_travels_in_the_link():
    at = open_app("pages/latent.py")
    at.radio(key="latent_similarity").set_value("shrunk")
    rerun(at)
    assert at.query_params["sim"] == "shrunk"
    fresh = reopened(at, "latent")
    assert fresh.radio(key="latent_similarity").value == "shrunk"


def test_the_seeds_demo_k_travels_in_the_link():
    at = open_app("pages/theory.py")
    at.slider(key="theory_w_seeds_k").set_value(3)
    rerun(at)
    assert at.query_params["seeds_k"] == "3"
    fresh = reopened(at, "home")
    assert fresh.slider(key="theory_w_seeds_k").value == 3


def test_add_yourself_stars_and_items_shown_travel_in_the_link():
    at = open_app("pages/add_yourself.py")
    [b for b in at.button if b.key == "you_example"][0].click()
    rerun(at)
    at.slider(key="you_n_shown").set_value(9)
    rerun(at)
    stars = {f.key: f.value for f in at.get("feedback") if f.value is not None}
    assert stars, "the example rated nothing"
    link = at.query_params["stars"]
    assert link.count(":") >= len(stars)
    fresh = reopened(at, "add_yourself")
    assert fresh.slider(key="you_n_shown").value == 9
    assert {f.key: f.value for f in fresh.get("feedback") if f.value is not None} == stars
    # The same picture: the placed user's top items are the same.
    assert [str(t.value) for t in fresh.table] == [str(t.value) for t in at.table]


def test_bad_stars_in_a_link_get_the_notice_with_the_range():
    at = open_app(params={"page": "add_yourself", "stars": "Heat:9"})
    (notice,) = [shown(w.value) for w in at.warning if "This link" in w.value]
    assert "stars='Heat:9' was ignored" in notice and "from 1 to 5" in notice
    assert not [f for f in at.get("feedback") if f.value is not None]


@pytest.mark.parametrize(
    ("section", "param", "key", "value", "set_to"),
    [
        ("compare", "compare_k", "exp_w_compare_k", "3", 3),
        ("compare", "compare_budget", "exp_w_compare_budget", "0.5", 0.5),
        ("compare", "compare_biases", "exp_w_compare_biases", "0", False),
        ("sweep", "sweep_lams", "exp_w_sweep_lams", "0.1~1", [0.1, 1.0]),
        ("sweep", "sweep_iter", "exp_w_sweep_iter", "7", 7),
        ("recovery", "recovery_starts", "exp_w_recovery_starts", "2", 2),
        ("implicit", "implicit_alpha", "exp_w_implicit_alpha", "10", 10.0),
        ("baselines", "baselines_bias_lam", "exp_w_baselines_bias_lam", "25", 25.0),
    ],
)
def test_an_experiments_setting_round_trips(section, param, key, value, set_to):
    data = PLANTED if section == "recovery" else TINY
    at = open_app(params={**data, "page": "experiments", "section": section, param: value})
    assert at.session_state[key] == set_to
    assert at.query_params[param] == value
    fresh = reopened(at, "experiments")
    assert fresh.session_state[key] == set_to


def test_implicit_mode_and_its_settings_round_trip():
    at = open_app("pages/train.py", params=TINY)
    at.radio(key="train_imp_w_mode").set_value("implicit")
    rerun(at)
    at.slider(key="train_imp_w_iterations").set_value(7)
    rerun(at)
    assert at.query_params["mode"] == "implicit" and at.query_params["imp_it"] == "7"
    fresh = reopened(at, "train")
    assert fresh.radio(key="train_imp_w_mode").value == "implicit"
    assert fresh.slider(key="train_imp_w_iterations").value == 7


def test_every_rating_as_an_interaction_travels_as_none():
    at = open_app("pages/train.py", params={**TINY, "mode": "implicit"})
    at.session_state["train_imp_w_interactions"] = None  # "every rating"
    rerun(at)
    assert at.query_params["imp_like"] == "none"
    fresh = reopened(at, "train")
    assert fresh.select_slider(key="train_imp_w_interactions").value is None


def test_a_new_widget_changed_on_a_slide_stays_in_the_slide_and_an_untouched_one_does_not():
    talk = talks.default_talk()
    number = next(j for j, s in enumerate(talk.slides, 1) if s.figure == "latent_map")
    at = open_app(params={"page": "talk", "slide": str(number)})
    shown_talk = at.session_state["talk_deck"]
    assert shown_talk == talk  # drawing a slide changes nothing in it
    at.radio(key="latent_similarity").set_value("shrunk")
    rerun(at)
    slide = at.session_state["talk_deck"].slides[number - 1]
    assert slide.params["sim"] == "shrunk"
    assert set(slide.params) == {*talk.slides[number - 1].params, "sim"}
    assert talks.read_talk_code(at.query_params["talk"]).slides[number - 1].params["sim"] == (
        "shrunk"
    )


def run_section(section: str, **params: str) -> AppTest:
    at = open_app(params={**TINY, "page": "experiments", "section": section, **params})
    at.button(key=f"exp_{section}_run").click()
    return rerun(at)


def test_the_sweeps_curve_positions_travel_in_the_link():
    at = run_section("sweep", sweep_ks="1~2~3", sweep_lams="0.1~1~10")
    at.selectbox(key="exp_w_sweep_at_k").set_value(3)
    at.selectbox(key="exp_w_sweep_at_lam").set_value(10.0)
    rerun(at)
    assert (at.query_params["sweep_at_k"], at.query_params["sweep_at_lam"]) == ("3", "10")
    assert chart(at, "exp_sweep_lam_curve").layout.title.text.endswith("k = 3")
    fresh = reopened(at, "experiments")  # the same sweep, found in the server's results
    assert fresh.selectbox(key="exp_w_sweep_at_k").value == 3
    assert fresh.selectbox(key="exp_w_sweep_at_lam").value == 10.0
    assert chart(fresh, "exp_sweep_lam_curve").layout.title.text.endswith("k = 3")


def test_the_implicit_explanations_user_and_item_travel_in_the_link():
    at = run_section("implicit")
    users = at.selectbox(key="exp_implicit_user").options
    at.selectbox(key="exp_implicit_user").set_value(
        at.selectbox(key="exp_implicit_user").options[2]
    )
    rerun(at)
    items = at.selectbox(key="exp_implicit_item")
    items.set_value(items.options[1])
    rerun(at)
    user, item = at.session_state["exp_implicit_user"], at.session_state["exp_implicit_item"]
    assert users and at.query_params["implicit_user"] == str(user)
    assert at.query_params["implicit_item"] == str(item)
    fresh = reopened(at, "experiments")
    assert fresh.session_state["exp_implicit_user"] == user
    assert fresh.session_state["exp_implicit_item"] == item
