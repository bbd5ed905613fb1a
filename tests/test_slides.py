"""Exports for slides: PNG names from the modebar, standalone HTML, and the zip pack."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import plotly.graph_objects as go

from dashboard import slides


def small_figure(title: str) -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name=title), layout={"title": title})


def test_png_config_names_the_file_and_sharpens_it():
    config = slides.png_config("Update: A & B (tiny)")
    options = config["toImageButtonOptions"]
    assert options == {"format": "png", "filename": "update-a-b-tiny", "scale": 2}
    assert config["displaylogo"] is False


def test_safe_filename_never_empty_or_unsafe():
    assert slides.safe_filename("../../etc/passwd") == "etc-passwd"
    assert slides.safe_filename("   ") == "figure"
    assert slides.safe_filename("Replay map_1") == "replay-map_1"


def test_standalone_html_embeds_plotly_and_the_data():
    html = slides.figure_html(small_figure("t"), title="my <figure>")
    assert "<title>my &lt;figure&gt;</title>" in html
    assert "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js is inside: it works offline
    assert '"filename":"my-figure"' in html.replace(" ", "")


def test_pack_holds_every_figure_one_plotly_js_and_the_settings():
    figures = {"replay-map": small_figure("a"), "replay objective": small_figure("b")}
    settings = {"k": np.int64(3), "lam": 0.5, "biases": True, "note": None, "tol": float("nan")}
    data = slides.pack_zip(figures, settings, page="replay")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert names == {
            "replay-map.html",
            "replay-objective.html",
            "plotly.min.js",
            "settings.json",
            "index.html",
        }
        for name in ("replay-map.html", "replay-objective.html"):
            html = archive.read(name).decode()
            assert 'src="plotly.min.js"' in html  # shared, not repeated
            assert len(html) < 200_000
        meta = json.loads(archive.read("settings.json"))
        assert meta["page"] == "replay"
        assert meta["settings"] == {
            "k": 3,
            "lam": 0.5,
            "biases": True,
            "note": None,
            "tol": None,
        }
        assert meta["figures"] == ["replay-map.html", "replay-objective.html"]
        index = archive.read("index.html").decode()
        assert 'href="replay-map.html"' in index
    assert len(data) < 3_000_000  # compressed plotly.js plus two small pages


def test_pack_keeps_figures_whose_names_collide():
    figures = {"A B": small_figure("1"), "a-b": small_figure("2")}
    with zipfile.ZipFile(io.BytesIO(slides.pack_zip(figures, {}))) as archive:
        assert {"a-b.html", "a-b-2.html"} <= set(archive.namelist())
