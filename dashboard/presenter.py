"""Presenter mode: big fonts, big figures, high contrast, controls out of the way.

One session flag (``presenter_on``, also ``present=1`` in the URL scene) switches it. When it is
on, app.py puts the page menu at the top instead of the sidebar, the sidebar is hidden, pages
fold their controls into a closed "Controls" expander (``controls()``), and figures drawn through
``style_figure`` (``dashboard.slides`` does it for you) get larger fonts and heights. A small
button at the top right leaves the mode. Everything a demo shows is already seeded (the fit's
seed, the map's sampling), so the same link replays the same demo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go
import streamlit as st

SESSION_KEY = "presenter_on"
WIDGET_KEY = "presenter_w_toggle"
#: Plotly layout for a projector: larger text everywhere, pure black text.
FIGURE_FONT = {"size": 19, "color": "#000000"}
TITLE_SIZE = 25
#: Axis and colour-bar numbers: a little smaller than the text, still readable across a room.
TICK_FONT = {"size": 17, "color": "#111111"}
HEIGHT_FACTOR = 1.25

PRESENTER_CSS = """
<style>
/* Presenter mode: the sidebar and Streamlit's own menus are hidden; the page menu sits on top. */
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stToolbarActions"],
[data-testid="stMainMenu"], [data-testid="stStatusWidget"] { display: none !important; }
html { font-size: 20px; }
.stApp, .stMarkdown, .stCaption, p, li, label { color: #000000 !important; }
[data-testid="stCaptionContainer"] p { font-size: 0.95rem; color: #222222 !important; }
h1 { font-size: 2.4rem !important; font-weight: 800 !important; }
h2, h3 { font-weight: 750 !important; }
.block-container, [data-testid="stMainBlockContainer"] {
  max-width: 100% !important; padding-left: 2.5rem !important; padding-right: 2.5rem !important;
  padding-top: 3.6rem !important; /* just below the page menu: no empty band on the screen */
}
[data-testid="stMetricValue"] { font-size: 2.2rem !important; }
.katex { font-size: 1.35em !important; }
</style>
"""


def active() -> bool:
    """Is presenter mode on in this session?"""
    return bool(st.session_state.get(SESSION_KEY, False))


def set_active(on: bool) -> None:
    st.session_state[SESSION_KEY] = bool(on)


def navigation_position() -> str:
    """Where app.py puts the page menu: on top in presenter mode (the sidebar is hidden)."""
    return "top" if active() else "sidebar"


def style_figure(fig: go.Figure, *, on: bool | None = None) -> go.Figure:
    """Enlarge a figure's text and height for a projector (no change when the mode is off)."""
    if not (active() if on is None else on):
        return fig
    height = fig.layout.height
    fig.update_layout(
        font=FIGURE_FONT,
        title_font_size=TITLE_SIZE,
        hoverlabel_font_size=17,
        legend_font_size=17,
    )
    if height:
        fig.update_layout(height=int(height * HEIGHT_FACTOR))
    _make_room_for_the_title(fig)
    fig.update_annotations(font_size=FIGURE_FONT["size"])
    # Streamlit's chart theme sets small grey tick labels on every axis, which win over the
    # layout's font: the axes (and colour bars) get their own projector font.
    fig.update_xaxes(tickfont=TICK_FONT, title_font=FIGURE_FONT)
    fig.update_yaxes(tickfont=TICK_FONT, title_font=FIGURE_FONT)
    if any(key.startswith("coloraxis") for key in fig.layout.to_plotly_json()):
        # Only when one is used: plotly draws the colour bar of any coloraxis that has one.
        fig.update_coloraxes(colorbar_tickfont=TICK_FONT, colorbar_title_font=FIGURE_FONT)
    for trace in fig.data:
        # Labels written beside points (the chosen item, user…) are read from the back row too;
        # numbers inside heatmap cells keep their size, which their cells were sized for.
        if trace.type in ("scatter", "scattergl") and trace.text is not None:
            size = trace.textfont.size
            if size is not None and size < TICK_FONT["size"]:
                trace.textfont.size = TICK_FONT["size"]
        if "colorbar" in trace:
            trace.colorbar.tickfont = TICK_FONT
            trace.colorbar.title.font = FIGURE_FONT
        # Only a marker scale that is shown: setting its colour bar can make plotly draw one.
        if "marker" in trace and "colorbar" in trace.marker and trace.marker.showscale:
            trace.marker.colorbar.tickfont = TICK_FONT
            trace.marker.colorbar.title.font = FIGURE_FONT
    return fig


def _make_room_for_the_title(fig: go.Figure) -> None:
    """The bigger title needs a taller top margin, more so above subplot titles (which sit in
    the same margin, just above the plots): otherwise the two overlap."""
    top = fig.layout.margin.t
    if not fig.layout.title.text or top is None:
        return
    headed = any(
        str(note.yref or "").startswith("paper") and note.y is not None and note.y >= 1
        for note in fig.layout.annotations
    )
    needed = TITLE_SIZE + 16 + (FIGURE_FONT["size"] + 12 if headed else 0)
    if top < needed:
        fig.update_layout(margin_t=needed)


def _sync_from_toggle() -> None:
    set_active(bool(st.session_state.get(WIDGET_KEY)))


def apply() -> None:
    """Draw the switch (sidebar toggle, or an exit button in presenter mode) and the CSS.

    Call once per run from app.py, after ``st.navigation``.
    """
    if active():
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
        _, right = st.columns([8, 2])
        right.button(
            "Exit presenter mode",
            key="presenter_exit",
            icon=":material/close_fullscreen:",
            type="tertiary",
            on_click=set_active,
            args=(False,),
        )
        return
    # The widget's own state is dropped on pages where it is not drawn; the flag is not.
    st.session_state[WIDGET_KEY] = active()
    with st.sidebar:
        st.toggle(
            "Presenter mode",
            key=WIDGET_KEY,
            on_change=_sync_from_toggle,
            help="Big fonts and figures, controls folded away, page menu on top: for a room. "
            "The link in the address bar reopens this exact view.",
        )


def controls_box(label: str = "Controls") -> Any:
    """In presenter mode a closed expander a page can fill from several places (``with box:``);
    None when the mode is off (the page lays its controls out as usual)."""
    if not active():
        return None
    return st.expander(label, expanded=False, icon=":material/tune:")


@contextlib.contextmanager
def controls(label: str = "Controls") -> Iterator[None]:
    """Where a page puts its widgets: inline normally, a closed expander in presenter mode."""
    if active():
        with st.expander(label, expanded=False, icon=":material/tune:"):
            yield
    else:
        with st.container():
            yield
