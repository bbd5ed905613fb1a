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
from contextvars import ContextVar
from dataclasses import dataclass
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
/* Titles compress: one line for the page's name, so the main figure starts high on the screen. */
h1 { font-size: 1.6rem !important; font-weight: 800 !important; padding: 0 !important; }
h2, h3 { font-weight: 750 !important; }
h3 { font-size: 1.25rem !important; padding: 0.2rem 0 0 0 !important; }
.block-container, [data-testid="stMainBlockContainer"] {
  max-width: 100% !important; padding-left: 2.5rem !important; padding-right: 2.5rem !important;
  padding-top: 3.6rem !important; /* just below the page menu: no empty band on the screen */
  padding-bottom: 2rem !important;
}
[data-testid="stExpander"] summary { padding-top: 0.35rem; padding-bottom: 0.35rem; }
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
    _legend_below_in_its_own_room(fig)
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


def _legend_below_in_its_own_room(fig: go.Figure) -> None:
    """A legend hung below the plot (``y < 0`` of the plot's height) lands on the x axis's
    title once the projector font makes it taller and the figure is sized to the screen:
    anchored to the bottom of the whole figure instead, plotly makes room for it."""
    legend = fig.layout.legend
    if legend.y is not None and legend.y < 0 and legend.yref in (None, "paper"):
        fig.update_layout(legend={"yref": "container", "y": 0, "yanchor": "bottom"})


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


def apply(title: str | None = None) -> Any:
    """Draw the page's title, the switch (sidebar toggle, or an exit button in presenter mode)
    and the CSS. Returns a container at the right of the title for more actions in presenter
    mode (the sidebar is hidden there), None otherwise.

    Call once per run from app.py, after ``st.navigation``; ``title=None`` draws no title and,
    in presenter mode, no exit button (a page that draws its own, like the talk).
    """
    if active():
        st.html(PRESENTER_CSS)  # style only: sent aside, takes no room at the top
        if title is None:  # the page draws its own heading and exit (the talk does)
            return None
        # One row: the title and the buttons share it, so the main figure starts high.
        left, right = st.columns([5, 3], vertical_alignment="center")
        if title:
            left.title(title, anchor=False)
        actions = right.container(horizontal=True, horizontal_alignment="right", gap="small")
        actions.button(
            "Exit presenter mode",
            key="presenter_exit",
            icon=":material/close_fullscreen:",
            type="tertiary",
            on_click=set_active,
            args=(False,),
        )
        return actions
    if title:
        st.title(title)
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
    return None


# ----------------------------------------------------------------------- fitting the screen
#: What a page's main figure leaves for the rest of the first screen, in presenter mode: the
#: page menu (~75 px), the title row (~60 px), one folded "Controls" line (~60 px), the gaps
#: between them and a margin below. Checked in a browser at 1280×720 and 1920×1080.
SCREEN_RESERVE_PX = 265
#: A subheading (or one line of text) between the folded controls and the main figure.
HEADING_PX = 55
#: Never shorter than this, even on a very small window (the figure then scrolls into view).
SCREEN_MIN_PX = 300


def screen_css(key: str, reserve_px: int) -> str:
    """CSS that gives the container ``key`` the screen's height minus ``reserve_px``.

    A container with a key carries the class ``st-key-<key>``; a chart with
    ``height="stretch"`` inside it fills it, and plotly redraws at that size whenever the
    window changes (so one figure suits a 720p projector and a 1080p screen alike)."""
    height = f"max({SCREEN_MIN_PX}px, calc(100vh - {int(reserve_px)}px))"
    return (
        f"<style>.st-key-{key} {{ flex: 0 0 auto !important; height: {height} !important; }}"
        "</style>"
    )


def screen_box(key: str, *, reserve_px: int = SCREEN_RESERVE_PX, container: Any = None) -> Any:
    """A container as tall as the screen minus ``reserve_px`` (what sits above and below it):
    draw one chart in it with ``height="stretch"``. ``container``: where to put it."""
    st.html(screen_css(key, reserve_px))  # style only: takes no room on the page
    return (container if container is not None else st).container(key=key)


def controls_box(label: str = "Controls") -> Any:
    """In presenter mode a closed expander a page can fill from several places (``with box:``);
    None when the mode is off (the page lays its controls out as usual)."""
    frame = current_slide()
    if frame is not None:
        frame.has_controls = True
        return frame.controls
    if not active():
        return None
    return st.expander(label, expanded=False, icon=":material/tune:")


@contextlib.contextmanager
def folded(label: str, *, icon: str = ":material/info:") -> Iterator[None]:
    """Inline normally; a closed expander in presenter mode. For what would push the page's
    main figure below the first screen (an introduction, a row of numbers). On a slide of a
    talk it stays where the page put it (off the slide)."""
    if active() and current_slide() is None:
        with st.expander(label, expanded=False, icon=icon):
            yield
    else:
        with st.container():
            yield


@contextlib.contextmanager
def controls(label: str = "Controls") -> Iterator[None]:
    """Where a page puts its widgets: inline normally, a closed expander in presenter mode,
    the slide's "Controls" menu on a slide of a talk."""
    frame = current_slide()
    if frame is not None:
        frame.has_controls = True
        with frame.controls:
            yield
        return
    with folded(label, icon=":material/tune:"):
        yield


@contextlib.contextmanager
def in_view() -> Iterator[None]:
    """For the one control a demo needs at hand (the replay's Play): where the page puts it,
    and on a slide of a talk beside the slide's title."""
    frame = current_slide()
    with frame.in_view if frame is not None else st.container():
        yield


# ------------------------------------------------------------------------------ talk slides
@dataclass
class SlideFrame:
    """A page drawn as one slide of a talk (``talk_session.run_page`` runs the page inside
    ``slide(frame)``): only the chart ``figure`` is drawn, into ``stage``; the page's
    controls go to ``controls``, its ``in_view`` widgets to ``in_view``; the rest of the page
    runs off the slide. ``drawn`` is the figure once drawn (for the offline deck);
    ``has_controls`` whether the page put anything in ``controls``."""

    figure: str
    stage: Any
    controls: Any
    in_view: Any
    drawn: go.Figure | None = None
    has_controls: bool = False


_SLIDE: ContextVar[SlideFrame | None] = ContextVar("als_explorer_slide", default=None)


@contextlib.contextmanager
def slide(frame: SlideFrame) -> Iterator[SlideFrame]:
    """Run a page as the slide ``frame`` describes (each script run has its own context)."""
    token = _SLIDE.set(frame)
    try:
        yield frame
    finally:
        _SLIDE.reset(token)


def current_slide() -> SlideFrame | None:
    """The slide the current page is drawn as, or None on the page itself."""
    return _SLIDE.get()
