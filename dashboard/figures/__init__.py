"""Pure figure functions: arrays and frames in, a plotly Figure out (no Streamlit here).

Modules: ``data`` (the Data page), ``training`` (the Train page), ``reconstruction`` and
``latent`` (their pages). The helpers below keep the look consistent and the payload small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio

from ..text import plotly_escape

#: The look of every figure. Set as plotly's default rather than per figure: plotly then puts
#: it into the figure's JSON when the figure is sent or exported (the same JSON), instead of
#: validating and deep-copying the whole template into each figure (10-100 ms a figure), and
#: never loads its own default ("plotly") template at all.
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE

#: Colours used across pages: users vs items, train vs validation.
USER_COLOR = "#4C6EF5"
ITEM_COLOR = "#F08C00"
TRAIN_COLOR = "#4C6EF5"
VALIDATION_COLOR = "#E03131"
MUTED_COLOR = "#868E96"
#: Sequential scale for ratings and densities (missing cells are left blank, never zero).
RATING_SCALE = "Viridis"
#: Colours of categories (genres, …), handed out by ``category_colours``.
CATEGORY_PALETTE = tuple(plotly.colors.qualitative.D3 + plotly.colors.qualitative.Pastel)


def shown_names(values: Sequence | np.ndarray) -> np.ndarray:
    """Names from outside the app (ids, titles, categories) as plotly shows them literally
    (``text.plotly_escape`` of each), in an object array aligned with ``values``. Every figure
    passes its names through this before they reach a trace, an axis or a title."""
    return np.array([plotly_escape(v) for v in np.asarray(values, dtype=object).ravel()], object)


def short_names(values: Sequence | np.ndarray, limit: int) -> np.ndarray:
    """``shown_names`` cut to at most ``limit`` characters each (the last one "…" when cut),
    for tick labels: a long title would push the plot aside. The cut is made before escaping,
    so it never splits an entity; the full name belongs in the hover."""
    names = [str(v) for v in np.asarray(values, dtype=object).ravel()]
    cut = [name if len(name) <= limit else name[: limit - 1].rstrip() + "…" for name in names]
    return shown_names(cut)


def category_order(values: Sequence) -> list[str]:
    """The categories of ``values`` (one per item, say), largest first, ties by name."""
    counts = pd.Series(np.asarray(values, dtype=object)).astype(str).value_counts()
    return sorted(counts.index, key=lambda c: (-int(counts[c]), c))


def category_colours(values: Sequence) -> dict[str, str]:
    """The app's one category → colour map: the largest category gets the first colour, and so
    on. Every figure that colours by a category passes the category of EVERY item (not only of
    those it draws), so a genre has the same colour on every page and in every frame."""
    return {
        c: CATEGORY_PALETTE[j % len(CATEGORY_PALETTE)] for j, c in enumerate(category_order(values))
    }


def style(
    fig: go.Figure, *, title: str | None = None, height: int = 360, legend: bool = True
) -> go.Figure:
    """Common layout: compact margins, a title, legend on top, and a stable ``uirevision``
    so a rerun with new data keeps the user's zoom (the colours and grid: ``TEMPLATE``)."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        showlegend=legend,
        # Below the plot: curves that flatten out high up would hide under a legend inside,
        # and a legend above would collide with the title.
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0},
        uirevision="keep",
        hoverlabel={"namelength": -1},
    )
    return fig


def payload_bytes(fig: go.Figure) -> int:
    """Size of the figure's JSON as sent to the browser (what the ~5 MB budget counts)."""
    return len(fig.to_json().encode())


#: At most this many labels on a log axis: more make plotly tilt them, and on a narrow chart
#: the tilted labels run into the axis title and the legend (MovieLens' 9,724 items, say).
MOST_LOG_TICKS = 8


def log_ticks(low: float, high: float, *, most: int = MOST_LOG_TICKS) -> list[float]:
    """Tick values between ``low`` and ``high``: 1, 2, 5 × 10^n (cleaner than plotly's default
    minor labels on a log axis), or 1, 3 × 10^n, or powers of ten, whichever first gives at
    most ``most`` ticks."""
    if not (low > 0 and high > 0):
        return []
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = []
        for exponent in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1):
            for mantissa in mantissas:
                value = mantissa * 10.0**exponent
                if low / 1.05 <= value <= high * 1.05:
                    ticks.append(value)
        if len(ticks) <= most:
            break
    return ticks
