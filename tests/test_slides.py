"""Exports for slides: PNG names from the modebar, standalone HTML, and the zip pack."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import figure_export, slides
from tests.app_support import open_app


def small_figure(title: str) -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name=title), layout={"title": title})


def test_png_config_names_the_file_and_sharpens_it():
    config = figure_export.png_config("Update: A & B (tiny)")
    options = config["toImageButtonOptions"]
    assert options == {"format": "png", "filename": "update-a-b-tiny", "scale": 2}
    assert config["displaylogo"] is False


def test_safe_filename_never_empty_or_unsafe():
    assert figure_export.safe_filename("../../etc/passwd") == "etc-passwd"
    assert figure_export.safe_filename("   ") == "figure"
    assert figure_export.safe_filename("Replay map_1") == "replay-map_1"


def test_standalone_html_embeds_plotly_and_the_data():
    html = figure_export.figure_html(small_figure("t"), title="my <figure>")
    assert "<title>my &lt;figure&gt;</title>" in html
    assert "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js is inside: it works offline
    assert '"filename":"my-figure"' in html.replace(" ", "")


def test_pack_holds_every_figure_one_plotly_js_and_the_settings():
    figures = {"replay-map": small_figure("a"), "replay objective": small_figure("b")}
    settings = {"k": np.int64(3), "lam": 0.5, "biases": True, "note": None, "tol": float("nan")}
    data = figure_export.pack_zip(figures, settings, page="replay")
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
    with zipfile.ZipFile(io.BytesIO(figure_export.pack_zip(figures, {}))) as archive:
        assert {"a-b.html", "a-b-2.html"} <= set(archive.namelist())


# --------------------------------------------------------------------------------- in the app
def forwarding_script() -> None:
    import plotly.graph_objects as go

    from dashboard import slides

    pack = slides.SlidePack("t")
    figure = go.Figure(go.Scatter(x=[1, 2], y=[2, 1]))
    pack.chart(figure, key="c", name="My fig", theme=None, config={"scrollZoom": True})
    pack.pack_button(settings={"a": 1})


def test_chart_forwards_plotly_arguments_and_keeps_the_png_settings():
    at = AppTest.from_function(forwarding_script).run()
    assert not at.exception
    (chart,) = at.get("plotly_chart")
    assert chart.proto.theme == ""  # theme=None reached st.plotly_chart (default: "streamlit")
    config = json.loads(chart.proto.config)
    assert config["scrollZoom"] is True
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "my-fig", "scale": 2}
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels == ["HTML", "Download this page's figure for slides (zip)"]


@pytest.fixture
def packs(monkeypatch) -> list[dict]:
    """Every pack a page offers in this test: its page, figures and settings (the zip itself is
    built only when clicked, so the test builds it from these)."""
    offered: list[dict] = []
    original = slides.SlidePack.pack_button

    def recording(self, *, settings, key=None):
        offered.append({"page": self.page, "figures": dict(self.figures), "settings": settings})
        return original(self, settings=settings, key=key)

    monkeypatch.setattr(slides.SlidePack, "pack_button", recording)
    return offered


def assert_every_chart_is_exported(at: AppTest, pack: dict) -> None:
    """Each chart: a named 2x PNG in its modebar and an HTML button; the pack holds them all."""
    charts = at.get("plotly_chart")
    assert charts
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels.count("HTML") == len(charts)
    filenames = []
    for chart in charts:
        options = json.loads(chart.proto.config)["toImageButtonOptions"]
        assert options["scale"] == figure_export.PNG_SCALE and options["format"] == "png"
        filenames.append(options["filename"])
    assert len(set(filenames)) == len(charts)  # every figure has its own name
    assert sorted(filenames) == sorted(figure_export.safe_filename(n) for n in pack["figures"])
    count = "figure" if len(charts) == 1 else f"{len(charts)} figures"
    assert f"Download this page's {count} for slides (zip)" in labels
    archive = zipfile.ZipFile(io.BytesIO(figure_export.pack_zip(pack["figures"], pack["settings"])))
    meta = json.loads(archive.read("settings.json"))
    assert len(meta["figures"]) == len(charts)
    # The pack's figures are the ones on screen (same data as the chart the browser got).
    shown = {json.loads(c.proto.config)["toImageButtonOptions"]["filename"]: c for c in charts}
    for name, fig in pack["figures"].items():
        sent = pio.from_json(shown[figure_export.safe_filename(name)].proto.spec)
        assert len(sent.data) == len(fig.data)
        assert sent.layout.title.text == fig.layout.title.text
    return meta


@pytest.mark.parametrize(
    ("page", "slug", "choice"),
    [
        ("pages/data.py", "data", None),
        ("pages/train.py", "train", None),
        ("pages/reconstruction.py", "reconstruction", "n_users"),
        ("pages/latent.py", "latent", "item"),
    ],
)
def test_every_figure_of_a_page_is_exported_and_packed(packs, page, slug, choice):
    at = open_app(page)
    (pack,) = packs[-1:]
    meta = assert_every_chart_is_exported(at, pack)
    assert meta["settings"]["page"] == slug  # the scene that made them
    assert meta["settings"]["k"] == "2"
    if choice:
        assert choice in meta["settings"]  # the page's own choices travel with the figures


def test_experiment_figures_are_packed_once_they_are_shown(packs):
    # Settings no other test uses: results are shared between sessions once computed.
    chosen = {"exp_w_section": "baselines", "exp_w_baselines_bias_lam": 2.0}
    at = open_app("pages/experiments.py", state=chosen)
    assert not at.get("plotly_chart") and not at.get("download_button")  # nothing before Run
    at.button(key="exp_baselines_run").click().run()
    assert not at.exception
    meta = assert_every_chart_is_exported(at, packs[-1])
    assert meta["settings"]["experiment"] == "Baselines"
    assert meta["settings"]["experiment_settings"]["bias_lam"] == 2.0
    assert meta["settings"]["section"] == "baselines"


def test_the_implicit_train_page_packs_its_figures(packs):
    at = open_app("pages/train.py")
    at.radio(key="train_imp_w_mode").set_value("implicit").run()
    assert not at.exception
    assert any(c.key == "train_imp_history_chart" for c in at.get("plotly_chart"))
    meta = assert_every_chart_is_exported(at, packs[-1])
    assert meta["settings"]["feedback"] == "implicit" and meta["settings"]["alpha"] == 5.0


@pytest.mark.parametrize(
    "page", ["pages/data.py", "pages/train.py", "pages/reconstruction.py", "pages/latent.py"]
)
def test_presenter_mode_enlarges_every_figure_and_hides_the_exports(page):
    at = open_app(page, state={"presenter_on": True})
    assert not at.get("download_button")
    for chart in at.get("plotly_chart"):
        fig = pio.from_json(chart.proto.spec)
        assert fig.layout.font.size >= 19, chart.key
        assert fig.layout.xaxis.tickfont.size >= 17, chart.key


def test_an_opened_models_train_page_packs_its_history(packs, tmp_path, monkeypatch):
    import als_core as ac
    from dashboard import model_open

    # Models open only from allowed folders.
    monkeypatch.setenv(model_open.MODEL_ROOTS_ENV, str(tmp_path))
    ratings = ac.load_sample("tiny")
    model = ac.ALS(k=2, lam=0.5, iterations=4, seed=1).fit(ratings)
    directory = ac.save_model(model, ratings, tmp_path / "tiny-k2")
    at = open_app("pages/data.py")
    at.text_input(key="data_w_model_dir").set_value(str(directory))
    at.button(key="data_open_model").click().run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    keys = {chart.key for chart in at.get("plotly_chart")}
    assert keys == {"train_model_objective", "train_model_rmse"}
    meta = assert_every_chart_is_exported(at, packs[-1])
    assert meta["settings"]["k"] == 2
