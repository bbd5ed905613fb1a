"""Figures as files for slides: the PNG settings of a chart's camera button, a figure as one
self-contained HTML page, and a zip of a page's figures with the settings that made them.

Plain Python and plotly (no Streamlit); ``slides.SlidePack`` draws the charts and buttons.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
import zipfile
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import plotly.offline

#: PNG exports at this multiple of the on-screen size (sharp on a projector).
PNG_SCALE = 2


def safe_filename(name: str) -> str:
    """A file-name-safe slug: lower case letters, digits, '-' and '_' only (never empty)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-_")
    return slug or "figure"


def png_config(name: str, *, scale: int = PNG_SCALE) -> dict[str, Any]:
    """``config`` for ``st.plotly_chart``: the camera button saves ``<name>.png`` at ``scale``×."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": "png",
            "filename": safe_filename(name),
            "scale": scale,
        },
    }


def figure_html(fig: go.Figure, *, include_plotlyjs: bool | str = True, title: str = "") -> str:
    """The figure as a complete HTML page. ``include_plotlyjs=True`` embeds plotly.js (offline,
    ~4.7 MB); ``"directory"`` expects ``plotly.min.js`` beside the file (as in the pack)."""
    page = fig.to_html(
        include_plotlyjs=include_plotlyjs,
        full_html=True,
        config=png_config(title or "figure"),
    )
    if title:
        page = page.replace("<head>", f"<head><title>{_escape(title)}</title>", 1)
    return page


def pack_zip(
    figures: Mapping[str, go.Figure],
    settings: Mapping[str, Any],
    *,
    page: str = "",
) -> bytes:
    """A zip with one HTML file per figure, ``plotly.min.js`` once, ``settings.json`` and an
    ``index.html`` linking them. ``figures`` maps a name to a figure (names become file names;
    duplicates get a number)."""
    buffer = io.BytesIO()
    names: list[str] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, fig in figures.items():
            filename = _unique(f"{safe_filename(name)}.html", names)
            names.append(filename)
            archive.writestr(filename, figure_html(fig, include_plotlyjs="directory", title=name))
        archive.writestr("plotly.min.js", plotly.offline.get_plotlyjs())
        meta = {
            "page": page,
            "exported": time.strftime("%Y-%m-%d %H:%M:%S"),
            "figures": names,
            "settings": _jsonable(dict(settings)),
        }
        archive.writestr("settings.json", json.dumps(meta, indent=2, ensure_ascii=False))
        archive.writestr("index.html", _index_html(page, names))
    return buffer.getvalue()


def _unique(filename: str, taken: list[str]) -> str:
    if filename not in taken:
        return filename
    stem = filename.removesuffix(".html")
    n = 2
    while f"{stem}-{n}.html" in taken:
        n += 1
    return f"{stem}-{n}.html"


def _index_html(page: str, names: list[str]) -> str:
    items = "\n".join(f'<li><a href="{n}">{_escape(n)}</a></li>' for n in names)
    heading = _escape(f"ALS Explorer figures: {page}" if page else "ALS Explorer figures")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{heading}</title></head><body><h1>{heading}</h1>"
        f"<ul>{items}</ul><p>Settings: <a href='settings.json'>settings.json</a></p>"
        "</body></html>"
    )


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _jsonable(value: Any) -> Any:
    """Settings as plain JSON (numpy scalars, tuples, None and NaN made safe)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
