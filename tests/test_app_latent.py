"""The Latent space page in AppTest: the map, an item's neighbours, a user's recommendations."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from tests.app_support import chart_spec

PAGE = "pages/latent.py"
MOVIE_NIGHT = ac.load_sample("movie_night")
USER_NAMES = embed.user_labels(MOVIE_NIGHT)
ITEM_NAMES = embed.item_labels(MOVIE_NIGHT)
USER_INDEX = {name: u for u, name in enumerate(USER_NAMES)}
ITEM_INDEX = {name: i for i, name in enumerate(ITEM_NAMES)}


def trace(spec: dict, name: str) -> dict:
    (found,) = [t for t in spec["data"] if t.get("name") == name]
    return found


TABLES = ("latent_neighbours", "latent_recs")  # in page order (AppTest tables carry no key)


def table(at: AppTest, key: str):
    assert len(at.dataframe) == len(TABLES)
    return at.dataframe[TABLES.index(key)].value


def test_opens_with_the_most_rated_item_and_the_most_active_user(at):
    item = at.selectbox(key="latent_item").value
    user = at.selectbox(key="latent_user").value
    assert MOVIE_NIGHT.item_counts()[ITEM_INDEX[item]] == MOVIE_NIGHT.item_counts().max()
    assert MOVIE_NIGHT.user_counts()[USER_INDEX[user]] == MOVIE_NIGHT.user_counts().max()
    spec = chart_spec(at, "latent_map")
    star = trace(spec, "chosen item")
    assert star["text"] == [item]
    genres = set(embed.item_genres(MOVIE_NIGHT))
    assert genres <= {t["name"] for t in spec["data"]}  # coloured by genre by default


def test_choosing_an_item_changes_its_neighbours_in_table_and_map(at):
    before = table(at, "latent_neighbours")["item"].tolist()
    other = at.selectbox(key="latent_item").options[7]
    at.selectbox(key="latent_item").set_value(other).run()
    assert not at.exception
    after = table(at, "latent_neighbours")["item"].tolist()
    assert after != before and other not in after
    spec = chart_spec(at, "latent_map")
    assert trace(spec, "chosen item")["text"] == [other]
    assert trace(spec, "nearest neighbours (cosine)")["text"] == after
    # Neighbours are ranked by cosine similarity, best first.
    sims = table(at, "latent_neighbours")["similarity"].to_numpy()
    assert np.all(np.diff(sims) <= 1e-9)


def test_recommendations_skip_everything_the_user_rated_and_follow_the_user(at):
    user = at.selectbox(key="latent_user").options[3]
    at.selectbox(key="latent_user").set_value(user).run()
    assert not at.exception
    recs = table(at, "latent_recs")
    rated = set(MOVIE_NIGHT.matrix[USER_INDEX[user]].indices)  # training and validation
    assert not rated & {ITEM_INDEX[name] for name in recs["item"]}
    assert recs["score"].is_monotonic_decreasing
    spec = chart_spec(at, "latent_map")
    assert trace(spec, "chosen user")["text"] == [user]
    assert trace(spec, "recommended for the user")["text"] == recs["item"].tolist()
    bars = chart_spec(at, "latent_contributions")
    labels = {y for t in bars["data"] if t["type"] == "bar" for y in t["y"]}
    ranked = zip(recs.index, recs["item"], strict=True)
    assert labels == {f"{rank}. {name}" for rank, name in ranked}


def test_colour_control_and_list_length_change_the_map(at):
    at.radio(key="latent_colour").set_value("mean rating").run()
    assert not at.exception
    spec = chart_spec(at, "latent_map")
    items = [t for t in spec["data"] if str(t.get("name", "")).startswith("items")]
    assert len(items) == 1 and items[0]["marker"]["coloraxis"] == "coloraxis"
    assert "mean rating" in spec["layout"]["coloraxis"]["colorbar"]["title"]["text"]
    at.slider(key="latent_n").set_value(4).run()
    assert len(table(at, "latent_neighbours")) == 4 and len(table(at, "latent_recs")) == 4
