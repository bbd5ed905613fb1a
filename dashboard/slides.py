"""Figures for slides: every chart drawn through a ``SlidePack`` gets a PNG camera button and an
HTML download, and the page one zip of all its figures::

    pack = slides.SlidePack("update")
    pack.chart(fig, key="update_system_chart", name="update-system")   # draws and collects
    ...
    pack.pack_button(settings=fit.settings)                            # zip of all of them

Each chart's modebar camera saves a PNG named after the figure at twice the screen resolution;
a small button under it downloads the same figure as one self-contained HTML file (plotly.js
inside, so it works offline in a slide deck). The pack holds every figure of the page as HTML
sharing one copy of plotly.js, plus ``settings.json`` (dataset, model settings, the scene link
parameters) and an ``index.html`` that lists them (``figure_export`` makes the files).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from . import presenter
from .figure_export import figure_html, pack_zip, png_config, safe_filename


def _figures_text(n: int) -> str:
    return "figure" if n == 1 else f"{n} figures"


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
        main: bool = False,
        reserve_px: int = presenter.SCREEN_RESERVE_PX,
        **plotly_kwargs: Any,
    ) -> None:
        """Draw ``fig`` (presenter styling applied), set its PNG name, offer its HTML.

        ``main``: the page's main figure; in presenter mode it is sized to the screen (its
        height is the window's minus ``reserve_px``, what the page shows above and below it),
        so it is entirely in view without scrolling. Other keyword arguments go to
        ``st.plotly_chart`` as they are (``theme=None``, ``width=``…); a ``config`` given there
        is merged over the PNG settings.
        """
        target = container if container is not None else st
        frame = presenter.current_slide()
        if frame is not None and key != frame.figure:
            self.figures[name] = fig  # on a talk's slide only its one figure is drawn
            return
        presenter.style_figure(fig)
        config = {**png_config(name), **plotly_kwargs.pop("config", {})}
        plotly_kwargs.setdefault("width", "stretch")
        if frame is not None:  # the slide's figure: on the stage, as tall as the stage
            frame.stage.plotly_chart(
                fig, key=key, config=config, **{**plotly_kwargs, "height": "stretch"}
            )
            frame.drawn = fig
            self.figures[name] = fig
            return
        if main and presenter.active():
            target = presenter.screen_box(f"screen_{key}", reserve_px=reserve_px, container=target)
            plotly_kwargs["height"] = "stretch"
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
