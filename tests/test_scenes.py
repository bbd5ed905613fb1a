"""Scenes in the URL: encoding round-trips, bad values are reported, and opening the app with a
scene's query parameters restores exactly that view (data, model, page choices, presenter)."""

from __future__ import annotations

import numpy as np
import plotly.io as pio
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import als_core as ac
from dashboard import controls, data_sources, experiment_work, scenes
from dashboard.settings import DEFAULT_SETTINGS
from tests.app_support import APP, open_app, shown, sidebar_text

GENERATOR_DEFAULTS = scenes.generator_defaults()


def encode(scene: scenes.Scene) -> dict[str, str]:
    return scenes.encode_scene(
        scene, defaults=DEFAULT_SETTINGS, generator_defaults=GENERATOR_DEFAULTS
    )


model_settings = st.fixed_dictionaries(
    {
        "k": st.integers(1, 64),
        "lam": st.floats(*controls.LAMBDA_RANGE, allow_nan=False, allow_infinity=False),
        "iterations": st.integers(1, 50),
        "regularization": st.sampled_from(["plain", "weighted"]),
        "damping": st.floats(*controls.DAMPING_RANGE, allow_nan=False, allow_infinity=False),
        "biases": st.booleans(),
        "seed": st.integers(0, 2**31 - 1),
        "split": st.sampled_from(["random", "per_user", "by_time", "none"]),
        "fraction": st.sampled_from([0.05, 0.1, 0.2, 0.35, 0.5]),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    settings_=model_settings,
    side=st.sampled_from(["users", "items"]),
    who=st.text(min_size=1, max_size=20).filter(lambda t: t.strip() == t),
    iteration=st.one_of(st.integers(1, 50), st.just("next")),
    step=st.integers(0, 500),
    presenter=st.booleans(),
)
def test_a_scene_survives_the_round_trip(settings_, side, who, iteration, step, presenter):
    key = scenes.who_key(side)
    scene = scenes.Scene(
        page="update",
        data="sample:tiny",
        settings=settings_,
        choices={"update_side": side, key: who, "update_iteration": iteration, "update_step": step},
        presenter=presenter,
    )
    params = encode(scene)
    assert all(isinstance(v, str) for v in params.values())
    decoded, problems = scenes.decode_scene(params)
    assert problems == []
    assert decoded.page == "update" and decoded.data == "sample:tiny"
    assert decoded.presenter is presenter
    assert decoded.choices == scene.choices
    for name, value in settings_.items():
        # Non-default extras are written; defaults may be left out (they are the defaults).
        expected = value if name in decoded.settings else DEFAULT_SETTINGS[name]
        assert decoded.settings.get(name, expected) == value


def test_generator_settings_round_trip():
    truth = ac.synthetic(n_users=40, n_items=30, rank=2, density=0.3, noise=0.1, seed=5)
    generator = scenes.generator_settings(truth)
    params = encode(scenes.Scene(data="synthetic", generator=generator))
    assert "noise:0.1" in params["gen"] and "cluster_spread" not in params["gen"]
    decoded, problems = scenes.decode_scene(params)
    assert problems == []
    again = ac.synthetic(**decoded.generator)
    assert again.ratings.fingerprint() == truth.ratings.fingerprint()


def test_bad_values_are_dropped_with_a_note():
    decoded, problems = scenes.decode_scene(
        {"k": "two", "lam": "nan", "reg": "fancy", "data": "ftp://x", "it": "7", "page": "replay"}
    )
    assert decoded.settings == {"iterations": 7}
    assert decoded.data is None
    assert len(problems) == 4
    assert any("k='two'" in p for p in problems)


def run_with(params: dict[str, str]) -> AppTest:
    return open_app(params=params)


def test_opening_a_link_restores_the_scene():
    at = run_with(
        {
            "page": "update",
            "data": "sample:tiny",
            "k": "2",
            "lam": "0.5",
            "it": "7",
            "reg": "weighted",
            "bias": "0",
            "seed": "3",
            "split": "none",
            "side": "items",
            "who": "Redline Run",
            "iter": "3",
            "step": "2",
        }
    )
    assert at.title[0].value == "One update by hand"
    assert data_sources.sample_label("tiny") in sidebar_text(at)
    saved = at.session_state["train_settings"]
    assert (saved["k"], saved["lam"], saved["iterations"]) == (2, 0.5, 7)
    assert (saved["regularization"], saved["biases"], saved["seed"]) == ("weighted", False, 3)
    assert saved["split"] == "none"
    assert at.segmented_control(key="update_side").value == "items"
    assert at.selectbox(key="update_item").value == "Redline Run"
    assert at.select_slider(key="update_iteration").value == 3
    assert at.slider(key="update_step").value == 2
    # The same scene is written back (and stays there on the next run).
    at.run()
    assert at.query_params["who"] == "Redline Run" and at.query_params["k"] == "2"


def test_a_generated_dataset_is_rebuilt_from_its_settings():
    at = run_with(
        {"page": "home", "data": "synthetic", "gen": "n_users:40,n_items:30,rank:2,seed:5"}
    )
    expected = ac.synthetic(n_users=40, n_items=30, rank=2, seed=5).ratings
    assert at.session_state["data_fingerprint"] == expected.fingerprint()
    assert at.query_params["data"] == "synthetic"
    assert "n_users:40" in at.query_params["gen"]


def test_an_upload_link_asks_for_the_file_and_keeps_the_rest():
    at = run_with({"page": "home", "data": "upload:my ratings.csv", "k": "3"})
    assert any("my ratings.csv" in shown(info.value) for info in at.info)
    assert at.session_state["train_settings"]["k"] == 3
    assert at.query_params["data"] == "upload:my ratings.csv"
    at.run()  # still asked for on later runs, until the user loads data
    assert any("my ratings.csv" in shown(info.value) for info in at.info)


def test_a_bad_value_is_reported_not_fatal():
    at = run_with({"page": "home", "k": "lots"})
    assert any("k='lots'" in shown(warning.value) for warning in at.warning)
    assert at.title[0].value == "How ALS works"


def test_presenter_mode_from_the_link_and_back():
    at = run_with({"page": "home", "present": "1"})
    assert at.session_state["presenter_on"] is True
    assert at.query_params["present"] == "1"
    exit_button = at.button(key="presenter_exit")
    assert exit_button.label == "Exit presenter mode"
    exit_button.click().run()
    assert at.session_state["presenter_on"] is False
    assert "present" not in at.query_params
    at.toggle(key="presenter_w_toggle").set_value(True).run()
    assert at.session_state["presenter_on"] is True


def test_presenter_mode_folds_the_controls_away():
    at = run_with({"page": "update", "data": "sample:tiny", "present": "1"})
    labels = [expander.label for expander in at.expander]
    assert "Controls" in labels
    assert not at.get("download_button")  # no export clutter on the projector
    # Figures get the projector font.
    sizes = [np.nan]
    for chart in at.get("plotly_chart"):
        fig = pio.from_json(chart.proto.spec)
        sizes.append(fig.layout.font.size)
    assert np.nanmin(sizes) >= 19


# --------------------------------------------------------------------------------- page choices
names = st.lists(st.text(min_size=1, max_size=12), max_size=5)


@settings(max_examples=80, deadline=None)
@given(users=names, items=names)
def test_lists_of_names_survive_the_round_trip_even_with_separators_in_them(users, items):
    scene = scenes.Scene(
        page="reconstruction",
        choices={"recon_order": "activity", "recon_users": users, "recon_items": items},
    )
    params = encode(scene)
    decoded, problems = scenes.decode_scene(params)
    assert problems == []
    assert decoded.choices.get("recon_users", []) == users
    assert decoded.choices.get("recon_items", []) == items
    if not users:
        assert "also_users" not in params  # an empty list is the default: not written


def test_names_with_a_tilde_or_backslash_are_escaped_in_the_link():
    params = encode(scenes.Scene(page="reconstruction", choices={"recon_users": ["a~b", "c\\"]}))
    assert params["also_users"] == "a\\~b~c\\\\"
    assert scenes.parse_names("a\\~b~c\\\\") == ["a~b", "c\\"]


def test_the_experiment_sections_in_links_are_the_pages_sections():
    """The page cannot be imported (it runs on import), so read its Section names literally."""
    import ast

    source = (APP.parent / "pages" / "experiments.py").read_text()
    page_sections = [
        keyword.value.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Section"
        for keyword in node.keywords
        if keyword.arg == "name"
    ]
    assert page_sections == list(experiment_work.EXPERIMENTS)
    parser = scenes.PAGE_CHOICES["experiments"]["section"][1]
    for section in page_sections:
        assert parser(section) == section
    decoded, problems = scenes.decode_scene({"page": "experiments", "section": "nonsense"})
    assert decoded.choices == {} and len(problems) == 1


def test_a_reconstruction_link_restores_its_order_sizes_and_extra_rows():
    ratings = ac.load_sample("movie_night")
    users = np.asarray(scenes_labels(ratings)[0])
    # The two least active users: never among the 25 most active, so only the link shows them.
    quiet = [str(users[u]) for u in np.argsort(ratings.user_counts(), kind="stable")[:2]]
    at = run_with(
        {
            "page": "reconstruction",
            "data": "sample:movie_night",
            "order": "activity",
            "n_users": "25",
            "n_items": "30",
            "also_users": "~".join(quiet),
        }
    )
    assert at.title[0].value == "Reconstruction"
    assert at.radio(key="recon_order").value == "activity"
    assert at.slider(key="recon_n_users").value == 25
    assert at.slider(key="recon_n_items").value == 30
    assert at.multiselect(key="recon_users").value == quiet
    (chart,) = [c for c in at.get("plotly_chart") if c.key == "recon_chart"]
    rows = [str(label) for label in pio.from_json(chart.proto.spec).data[0].y]
    assert len(rows) == 27 and set(quiet) <= set(rows)
    # A change is written back into the address bar.
    at.slider(key="recon_n_items").set_value(12).run()
    assert at.query_params["n_items"] == "12"
    assert at.query_params["also_users"] == "~".join(quiet)
    assert at.query_params["order"] == "activity"


def test_a_link_asking_for_more_rows_than_the_data_have_is_clamped_not_fatal():
    at = run_with(
        {"page": "reconstruction", "data": "sample:tiny", "n_users": "500", "also_items": "Nope"}
    )
    tiny = ac.load_sample("tiny")
    assert at.slider(key="recon_n_users").value == tiny.n_users
    assert at.multiselect(key="recon_items").value == []


def test_a_latent_link_restores_colour_map_item_and_user():
    ratings = ac.load_sample("movie_night")
    users, items = scenes_labels(ratings)
    item, user = str(items[17]), str(users[41])
    at = run_with(
        {
            "page": "latent",
            "data": "sample:movie_night",
            "colour": "popularity",
            "map": "items only",
            "n": "5",
            "item": item,
            "user": user,
        }
    )
    assert at.title[0].value == "Latent space"
    assert at.radio(key="latent_colour").value == "popularity"
    assert at.radio(key="latent_fit_on").value == "items only"
    assert at.slider(key="latent_n").value == 5
    assert at.selectbox(key="latent_item").value == item
    assert at.selectbox(key="latent_user").value == user
    assert len(at.dataframe[1].value) == 5  # five recommendations for that user
    other = str(items[3])
    at.selectbox(key="latent_item").set_value(other).run()
    assert at.query_params["item"] == other and at.query_params["user"] == user
    assert at.query_params["colour"] == "popularity"


def test_a_latent_link_with_an_unknown_item_falls_back_to_the_most_rated():
    ratings = ac.load_sample("movie_night")
    items = scenes_labels(ratings)[1]
    at = run_with({"page": "latent", "data": "sample:movie_night", "item": "No such film"})
    most_rated = str(items[np.argsort(-ratings.item_counts(), kind="stable")[0]])
    assert at.selectbox(key="latent_item").value == most_rated


def test_an_experiments_link_opens_its_section():
    at = run_with({"page": "experiments", "data": "sample:tiny", "section": "baselines"})
    assert at.radio(key="exp_w_section").value == "baselines"
    assert at.subheader[0].value == "Baselines"
    at.radio(key="exp_w_section").set_value("sweep").run()
    assert at.query_params["section"] == "sweep"


def scenes_labels(ratings: ac.Ratings) -> tuple[np.ndarray, np.ndarray]:
    from als_core import embed

    return embed.user_labels(ratings), embed.item_labels(ratings)
