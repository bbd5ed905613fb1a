"""The look every figure shares: plotly_white, carried in the JSON the browser and exports get."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.utils import PlotlyJSONEncoder

from dashboard.figures import style
from dashboard.figures import teaching as figs


def plotly_white() -> dict:
    """plotly's own plotly_white template, as JSON."""
    template = pio.templates["plotly_white"].to_plotly_json()
    return json.loads(json.dumps(template, cls=PlotlyJSONEncoder))


def sent_template(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())["layout"]["template"]


def test_a_styled_figure_is_sent_with_the_plotly_white_template():
    fig = style(go.Figure(go.Scatter(y=[1, 3, 2])), title="t")
    assert sent_template(fig) == plotly_white()
    assert sent_template(fig)["layout"]["plot_bgcolor"] == "white"


def test_a_page_figure_is_sent_and_exported_with_plotly_white():
    values = np.array([[5.0, np.nan], [3.0, 4.0]])
    fig = figs.excerpt_figure(
        values, user_labels=["a", "b"], item_labels=["x", "y"], title="R", rating_scale=(1, 5)
    )
    assert sent_template(fig) == plotly_white()
    # The HTML export (slides) embeds the same figure JSON, template included.
    html = fig.to_html(include_plotlyjs=False, full_html=False)
    colorway = json.dumps(plotly_white()["layout"]["colorway"], separators=(",", ":"))
    assert '"template":{"data":' in html and colorway in html
