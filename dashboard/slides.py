"""Figures for slides: PNG from the chart's camera button, standalone HTML, one zip per page.

Pure helpers first (``png_config``, ``figure_html``, ``pack_zip``), then ``SlidePack``, the small
Streamlit helper any page can use::

    pack = slides.SlidePack("update")
    pack.chart(fig, key="update_system_chart", name="update-system")   # draws and collects
    ...
    pack.pack_button(settings=fit.settings)                            # zip of all of them

Each chart's modebar camera saves a PNG named after the figure at twice the screen resolution;
a small button under it downloads the same figure as one self-contained HTML file (plotly.js
inside, so it works offline in a slide deck). The pack holds every figure of the page as HTML
sharing one copy of plotly.js, plus ``settings.json`` (dataset, model settings, the scene link
parameters) and an ``index.html`` that lists them.
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


# --------------------------------------------------------------------------------- pure helpers
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


def _figures_text(n: int) -> str:
    return "figure" if n == 1 else f"{n} figures"


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


# --------------------------------------------------------------------------------- Streamlit part
class SlidePack:
    """Draws a page's figures with export options and collects them for one zip."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.figures: dict[str, go.Figure] = {}

    def chart(
        self,
        fig: go.Figure,
        *,
        key: str,
        name: str,
        container: Any = None,
        html_button: bool = True,
        **plotly_kwargs: Any,
    ) -> None:
        """Draw ``fig`` (presenter styling applied), set its PNG name, offer its HTML.

        Other keyword arguments go to ``st.plotly_chart`` as they are (``theme=None``,
        ``width=``…); a ``config`` given there is merged over the PNG settings.
        """
        import streamlit as st

        from dashboard import presenter

        target = container if container is not None else st
        presenter.style_figure(fig)
        config = {**png_config(name), **plotly_kwargs.pop("config", {})}
        plotly_kwargs.setdefault("width", "stretch")
        target.plotly_chart(fig, key=key, config=config, **plotly_kwargs)
        self.figures[name] = fig
        if html_button and not presenter.active():
            target.download_button(
                "HTML",
                data=lambda fig=fig, name=name: figure_html(fig, title=name),
                file_name=f"{safe_filename(name)}.html",
                mime="text/html",
                key=f"{key}_html",
                icon=":material/download:",
                type="tertiary",
                on_click="ignore",
                help="This figure as one HTML file that works offline (zoom and hover "
                "included). The camera icon above the chart saves a PNG.",
            )

    def pack_button(self, *, settings: Mapping[str, Any], key: str | None = None) -> None:
        """One click: every figure of this page as HTML + settings.json, in a zip."""
        import streamlit as st

        from dashboard import presenter

        if presenter.active() or not self.figures:
            return
        figures = dict(self.figures)
        full_settings = dict(settings)
        st.download_button(
            f"Download this page's {_figures_text(len(figures))} for slides (zip)",
            data=lambda: pack_zip(figures, full_settings, page=self.page),
            file_name=f"als-explorer-{safe_filename(self.page)}.zip",
            mime="application/zip",
            key=key or f"{self.page}_slides_pack",
            icon=":material/folder_zip:",
            on_click="ignore",
            help="HTML files that work offline (one shared plotly.js), the settings that made "
            "them (settings.json) and an index page.",
        )
