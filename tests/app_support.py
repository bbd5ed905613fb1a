"""Opening the app in Streamlit's AppTest and reading what it shows: shared by every app test
(``conftest.py`` turns ``open_app`` into the ``at`` fixture).

A test opens a new browser session with ``open_app(page, params=...)``: app.py routes to the
page (as a click in the menu, or a link's query parameters, would) and frames it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from streamlit.testing.v1 import AppTest

from dashboard import first_view

APP = Path(__file__).resolve().parents[1] / "app.py"
#: Seconds one script run may take (a fit on a loaded two-core machine included).
TIMEOUT = 120


def open_app(
    page: str | None = None,
    *,
    params: Mapping[str, str] | None = None,
    state: Mapping[str, object] | None = None,
    timeout: float = TIMEOUT,
) -> AppTest:
    """A new session's first run: on ``page`` ("pages/train.py"), or where the link's query
    ``params`` lead, with ``state`` in its session state beforehand. Fails the test on any
    exception shown.

    The run draws whole pages, as a browser's session does from its second run on (its first
    stops a page at its fold, ``dashboard.first_view``); ``state={first_view.DONE_KEY:
    False}`` gives the first run itself."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    for key, value in {first_view.DONE_KEY: True, **(state or {})}.items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    return rerun(at)


def rerun(at: AppTest, *, errors_ok: bool = True) -> AppTest:
    """Run the session again (after setting widgets); fails on an exception, and on an error
    message too unless ``errors_ok``."""
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    if not errors_ok:
        assert not at.error, [e.value for e in at.error]
    return at


def chart(at: AppTest, key: str) -> go.Figure:
    """The plotly figure the chart with ``key`` sends to the browser."""
    (element,) = [e for e in at.get("plotly_chart") if e.key == key]
    return pio.from_json(element.proto.spec)


def chart_spec(at: AppTest, key: str) -> dict:
    """The same figure as plain JSON (arrays as plotly encodes them: see ``figure_array``)."""
    (element,) = [e for e in at.get("plotly_chart") if e.key == key]
    return json.loads(element.proto.spec)


def chart_keys(at: AppTest) -> set[str]:
    return {e.key for e in at.get("plotly_chart")}


def figure_array(value: object) -> np.ndarray:
    """A figure's array as numpy: a plain list, or plotly's typed array (base64 ``bdata`` with
    ``dtype`` and, for 2-D data, ``shape``)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label -> shown value."""
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def shown(markdown: str) -> str:
    """Markdown as the browser shows it, as far as escapes go: ``\\$`` is ``$`` (outside text
    reaches Markdown through ``dashboard.text.md_escape``)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def sidebar_text(at: AppTest) -> str:
    """The sidebar's text (app.py's dataset and model summary), escapes resolved."""
    return shown("\n".join(m.value for m in at.sidebar.markdown))


#: Proto fields Streamlit renders as Markdown: text bodies, labels, help tooltips and captions,
#: and the options of radios and button groups (not of select boxes and sliders: plain text).
MARKDOWN_FIELDS = {"body", "label", "help", "caption", "options", "content"}
PLAIN_OPTIONS = ("Selectbox", "MultiSelect", "Slider")


def markdown_texts(at: AppTest) -> list[str]:
    """Every text on the page (main area and sidebar) that Streamlit renders as Markdown."""
    texts: list[str] = []

    def from_proto(message: object, plain_options: bool) -> None:
        for field, value in message.ListFields():
            values = value if field.is_repeated else [value]
            if field.message_type is not None:
                for item in values:
                    from_proto(item, plain_options)
            elif (
                field.name in MARKDOWN_FIELDS
                and field.type == field.TYPE_STRING
                and not (plain_options and field.name == "options")
            ):
                texts.extend(values)

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if hasattr(proto, "ListFields"):
            from_proto(proto, type(proto).__name__ in PLAIN_OPTIONS)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return texts
