"""Presenter styling of figures: projector fonts on every axis (Streamlit's chart theme would
otherwise keep its small grey ticks), taller figures, and no colour bar that was not there."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import presenter


def test_off_leaves_the_figure_alone():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[2, 1]), layout={"height": 400})
    before = fig.to_plotly_json()
    presenter.style_figure(fig, on=False)
    assert fig.to_plotly_json() == before


def test_on_enlarges_text_ticks_and_height_on_every_axis():
    fig = make_subplots(rows=1, cols=3, subplot_titles=["a", "b", "c"])
    for col in (1, 2, 3):
        fig.add_trace(go.Scatter(x=[1, 2], y=[2, 1]), row=1, col=col)
    fig.update_layout(height=400)
    presenter.style_figure(fig, on=True)
    assert fig.layout.height == int(400 * presenter.HEIGHT_FACTOR)
    assert fig.layout.font.size == presenter.FIGURE_FONT["size"]
    for axis in ("xaxis", "xaxis2", "xaxis3", "yaxis", "yaxis3"):
        assert fig.layout[axis].tickfont.size == presenter.TICK_FONT["size"]
        assert fig.layout[axis].title.font.size == presenter.FIGURE_FONT["size"]
    assert {a.font.size for a in fig.layout.annotations} == {presenter.FIGURE_FONT["size"]}


def test_colour_bars_are_enlarged_but_never_added():
    plain = go.Figure([go.Scatter(x=[1, 2], y=[2, 1], mode="markers"), go.Bar(x=[1], y=[1])])
    presenter.style_figure(plain, on=True)
    assert not any(key.startswith("coloraxis") for key in plain.layout.to_plotly_json())
    assert all("colorbar" not in trace.marker.to_plotly_json() for trace in plain.data)

    shared = px.scatter(x=[1, 2], y=[1, 2], color=[1.0, 2.0])  # a coloraxis with a colour bar
    heat = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
    scale = go.Figure(go.Scatter(x=[1], y=[1], marker={"color": [1], "showscale": True}))
    for fig in (shared, heat, scale):
        presenter.style_figure(fig, on=True)
    size = presenter.TICK_FONT["size"]
    assert shared.layout.coloraxis.colorbar.tickfont.size == size
    assert heat.data[0].colorbar.tickfont.size == size
    assert scale.data[0].marker.colorbar.tickfont.size == size


def test_point_labels_grow_and_heatmap_cell_numbers_keep_their_size():
    fig = go.Figure(
        [
            go.Scatter(x=[1], y=[1], text=["chosen"], mode="markers+text", textfont={"size": 13}),
            go.Heatmap(z=[[1.0]], texttemplate="%{z}", textfont={"size": 12}),
        ]
    )
    presenter.style_figure(fig, on=True)
    assert fig.data[0].textfont.size == presenter.TICK_FONT["size"]
    assert fig.data[1].textfont.size == 12


def test_a_title_above_subplot_titles_gets_room_so_they_do_not_overlap():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["left", "right"])
    fig.add_trace(go.Scatter(x=[1], y=[1]), row=1, col=1)
    fig.update_layout(title="Both", margin={"t": 50})
    lone = go.Figure(go.Scatter(x=[1], y=[1]), layout={"title": "Alone", "margin": {"t": 50}})
    untitled = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    untitled.update_layout(margin={"t": 30})
    for figure in (fig, lone, untitled):
        presenter.style_figure(figure, on=True)
    # The title's line and the subplot titles' line, each in its presenter size, both fit.
    assert fig.layout.margin.t >= presenter.TITLE_SIZE + presenter.FIGURE_FONT["size"] + 20
    assert lone.layout.margin.t == 50  # already enough for one line
    assert untitled.layout.margin.t == 30  # no title: nothing to make room for


def test_a_legend_below_the_plot_moves_to_the_bottom_of_the_figure():
    # Hung at y = -0.22 of the plot, the projector-sized legend would cover the x axis title.
    below = go.Figure(go.Scatter(x=[1], y=[1]), layout={"legend": {"y": -0.22, "yanchor": "top"}})
    beside = go.Figure(go.Scatter(x=[1], y=[1]), layout={"legend": {"x": 1.02, "y": 1.0}})
    for figure in (below, beside):
        presenter.style_figure(figure, on=True)
    assert (below.layout.legend.yref, below.layout.legend.y) == ("container", 0)
    assert below.layout.legend.yanchor == "bottom"
    assert beside.layout.legend.yref is None and beside.layout.legend.y == 1.0
