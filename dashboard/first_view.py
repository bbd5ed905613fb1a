"""A session's first page stops at its fold, and the rest follows once its first chart is drawn.

The browser draws a page's first plotly chart only after it has loaded plotly.js and rendered
every element the page sent before that moment; on the home page that was everything (three
more charts, the formulas, the tables: about 2 s of rendering on a two-core machine), although
only the top of the page is in view. So a page may call ``fold()`` where its first screen ends:
on a session's first run the page stops there (app.py still frames it: sidebar, link), shows a
skeleton in place of the rest, and ``end()`` mounts a small component whose script waits until
the browser has drawn a chart, then asks for a rerun, which draws the whole page. A click before
that does the same. Every later run of the session draws whole pages, and so does a talk's slide.

The browser fetches plotly.js only when a page sends its first chart, and loading it takes
about as long as the server's first run (imports, a fit); so ``warm_up()``, the first thing a
session's first run draws, sends an empty chart the page never shows (hidden by its key's CSS
class), and the browser loads plotly.js while the server works; ``end()`` removes it.

app.py calls ``warm_up()`` before its heavy imports, ``begin()`` before the page and ``end()``
after it, and catches ``Folded``.
"""

from __future__ import annotations

import streamlit as st

from . import presenter

#: Session key: True once a run of this session has ended (every later run draws whole pages).
DONE_KEY = "shell_first_view_done"
#: Session key: True when this run stopped its page at the fold.
FOLDED_KEY = "shell_first_view_folded"
#: Height of the skeleton that stands for the rest of a folded page.
REST_PX = 320
#: Key of the hidden warm-up chart (Streamlit gives its element the CSS class st-key-<key>).
WARM_KEY = "shell_first_view_warm"
#: Session key: where the warm-up chart is, until ``end()`` removes it.
WARM_SLOT_KEY = "shell_first_view_warm_slot"
#: Nothing to draw, no template to apply: only plotly.js has to load for it.
_WARM_FIGURE = {
    "data": [{"type": "scatter", "x": [], "y": []}],
    "layout": {"template": {}, "height": 10, "xaxis": {"visible": False}},
}
#: The rerun is asked for at the latest this long after the page arrived, chart drawn or not.
WAIT_LIMIT_MS = 10_000

# Waits for a drawn chart (plotly's SVG), then one more task so the browser paints it first.
_WHEN_DRAWN_JS = f"""
const CHART = '[data-testid="stMain"] .js-plotly-plot .main-svg';
export default function (component) {{
  const {{ setTriggerValue }} = component;
  const started = performance.now();
  let timer = null;
  const look = () => {{
    const drawn = document.querySelector(CHART) !== null;
    if (drawn || performance.now() - started > {WAIT_LIMIT_MS}) {{
      timer = setTimeout(() => setTriggerValue("drawn", true), 50);
    }} else {{
      timer = setTimeout(look, 100);
    }}
  }};
  look();
  return () => clearTimeout(timer);
}}
"""
_when_drawn = st.components.v2.component("als_explorer.first_view", js=_WHEN_DRAWN_JS)


class Folded(Exception):  # noqa: N818 - a page's normal end on a first run, not an error
    """Raised by ``fold()`` to end a session's first run of a page at its fold."""


def warm_up() -> None:
    """The first thing a session's first run draws (app.py, before its heavy imports): a hidden
    empty chart in the sidebar, so the browser loads plotly.js while the server works."""
    ss = st.session_state
    if ss.get(DONE_KEY):
        return
    st.html(f"<style>.st-key-{WARM_KEY} {{display: none}}</style>")  # takes no room
    slot = st.sidebar.empty()
    slot.plotly_chart(_WARM_FIGURE, key=WARM_KEY, config={"staticPlot": True})
    ss[WARM_SLOT_KEY] = slot


def begin() -> None:
    """Start a run of the page (app.py, before the page runs)."""
    if not st.session_state.get(DONE_KEY):
        st.session_state[FOLDED_KEY] = False


def fold() -> None:
    """Where a page's first screen ends: on a session's first run, stop the page here (its
    rest is drawn on the rerun the browser asks for once it has drawn the first chart)."""
    ss = st.session_state
    if ss.get(DONE_KEY) or FOLDED_KEY not in ss or presenter.current_slide() is not None:
        return  # a later run, a run app.py did not begin, or a talk's slide: the whole page
    st.skeleton(height=REST_PX)
    ss[FOLDED_KEY] = True
    raise Folded


def end() -> None:
    """End a run (app.py, after the page and the sidebar): after the session's first run every
    page is drawn whole; a folded one asks the browser for the rerun that draws its rest."""
    ss = st.session_state
    slot = ss.pop(WARM_SLOT_KEY, None)
    if slot is not None:  # plotly.js is loading or loaded: the page's own charts follow
        slot.empty()
    if ss.get(DONE_KEY):
        return
    ss[DONE_KEY] = True
    if ss.get(FOLDED_KEY):
        _when_drawn(key="shell_first_view_trigger", on_drawn_change=lambda: None)
