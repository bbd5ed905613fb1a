"""The offline deck: a whole talk as ONE self-contained HTML file.

Every slide's figure (interactive: zoom and hover), its title and its speaker note; plotly.js
embedded once for all of them; a few lines of plain JavaScript for the keys (PageDown, → and
Space forward, PageUp and ← back, Home and End, N for the notes). It opens from a file on a
laptop with no Python, no server and no network. Plain Python and plotly (no Streamlit).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline

from .talks import Talk

DECK_CSS = """
html, body { margin: 0; height: 100%; background: #fff; color: #000;
  font-family: "Source Sans Pro", "Segoe UI", Helvetica, Arial, sans-serif; }
section.slide { display: flex; flex-direction: column; height: 100vh; box-sizing: border-box;
  padding: 1.2rem 2rem 1.4rem 2rem; }
section.slide[hidden] { display: none; }
header { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
h1 { font-size: 2rem; margin: 0 0 0.4rem 0; }
.count { font-size: 1.2rem; font-weight: 700; white-space: nowrap; }
.figure { flex: 1 1 auto; min-height: 0; }
.missing { display: flex; align-items: center; justify-content: center; color: #555;
  font-size: 1.3rem; border: 2px dashed #ccc; }
.note { display: none; font-size: 1.15rem; line-height: 1.45; border-top: 2px solid #ddd;
  padding-top: 0.6rem; margin-top: 0.4rem; max-height: 30vh; overflow: auto; }
body.notes .note { display: block; }
#progress { position: fixed; left: 0; bottom: 0; height: 6px; background: #4c6ef5;
  transition: width 0.2s; }
#help { position: fixed; right: 0.8rem; bottom: 0.6rem; font-size: 0.8rem; color: #888; }
"""

#: The deck's keys and drawing: each figure is drawn the first time its slide is shown, at
#: the size the window gives it (and redrawn when the window changes).
DECK_JS = """
const figures = JSON.parse(document.getElementById("figures").textContent);
const slides = Array.from(document.querySelectorAll("section.slide"));
const bar = document.getElementById("progress");
let current = 0;
function show(i) {
  current = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, j) => { s.hidden = j !== current; });
  const box = slides[current].querySelector(".figure"), fig = figures[current];
  if (fig && !box.dataset.drawn) {
    box.dataset.drawn = "1";
    Plotly.newPlot(box, fig.data, fig.layout, {responsive: true, displaylogo: false});
  } else if (fig) { Plotly.Plots.resize(box); }
  bar.style.width = (100 * (current + 1) / slides.length) + "%";
  history.replaceState(null, "", "#" + (current + 1));
}
document.addEventListener("keydown", (e) => {
  const k = e.key;
  if (["PageDown", "ArrowRight", " ", "Spacebar"].includes(k)) show(current + 1);
  else if (["PageUp", "ArrowLeft"].includes(k)) show(current - 1);
  else if (k === "Home") show(0);
  else if (k === "End") show(slides.length - 1);
  else if (k === "n" || k === "N") {
    document.body.classList.toggle("notes");
    const box = slides[current].querySelector(".figure");
    if (box.dataset.drawn) Plotly.Plots.resize(box);
  }
  else return;
  e.preventDefault();
});
show((parseInt(location.hash.slice(1), 10) || 1) - 1);
"""


def deck_html(talk: Talk, figures: Sequence[go.Figure | None]) -> str:
    """The talk as one HTML page; ``figures[j]`` is slide j's figure (None: a placeholder)."""
    n = len(talk.slides)
    sections = []
    for j, slide in enumerate(talk.slides):
        figure = (
            '<div class="figure"></div>'
            if j < len(figures) and figures[j] is not None
            else '<div class="figure missing">This slide\'s figure was not collected.</div>'
        )
        sections.append(
            f'<section class="slide" data-slide="{j + 1}"{" hidden" if j else ""}>'
            f"<header><h1>{_escape(slide.title)}</h1>"
            f'<span class="count">{j + 1} / {n}</span></header>'
            f"{figure}"
            f'<aside class="note">{_escape(slide.note) or "<em>No note.</em>"}</aside>'
            "</section>"
        )
    data = (
        "["
        + ",".join(_figure_json(figures[j] if j < len(figures) else None) for j in range(n))
        + "]"
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_escape(talk.title)}</title><style>{DECK_CSS}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        + "".join(sections)
        + '<div id="progress"></div>'
        + '<div id="help">PageDown / → / Space: next · PageUp / ←: back · N: notes</div>'
        + f'<script type="application/json" id="figures">{data}</script>'
        + f"<script>{DECK_JS}</script></body></html>\n"
    )


def _figure_json(fig: go.Figure | None) -> str:
    """A figure as JSON for the deck: sized by its slide (no fixed height or width), and safe
    inside a <script> element (no "<" that could end it)."""
    if fig is None:
        return "null"
    sized = go.Figure(fig)
    sized.update_layout(height=None, width=None, autosize=True)
    # Streamlit's chart theme grows the margins to fit the tick labels (long item names on a
    # bar chart's axis); plotly.js alone does so only when asked.
    sized.update_xaxes(automargin=True)
    sized.update_yaxes(automargin=True)
    return pio.to_json(sized, validate=False).replace("<", "\\u003c")


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)
