"""Every page runs inside app.py's frame (sidebar, session defaults, error boundary).

app.py runs each page inside ``framing()``. Streamlit runs a page script without app.py in one
case: on a fresh server it sees the ``pages/`` folder and routes requests through its legacy
folder router until app.py has called ``st.navigation`` once, so the first visitor of a page
URL (a bookmark of /train, say) gets the bare page script. Each page script therefore starts
with ``shell.require_app()``: outside ``framing()`` it runs app.py, which routes to the same page
properly (and turns the legacy router off for good), and stops the bare run.

Only page scripts call ``require_app()``, at their top: widget callbacks and helpers also run
outside ``framing()``, and must never start app.py.
"""

from __future__ import annotations

import contextlib
import runpy
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import streamlit as st

APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
#: True while app.py runs a page (each script run has its own thread, hence its own context).
_FRAMED: ContextVar[bool] = ContextVar("als_explorer_framed", default=False)


class PageNotice(Exception):
    """A page that has nothing to show for a reason to read, not an error (app.py shows the
    message as a note): e.g. a replay, which would refit, of a model opened from disk."""


@contextlib.contextmanager
def framing() -> Iterator[None]:
    """Marks the page run that app.py frames (app.py wraps ``page.run()`` in it)."""
    token = _FRAMED.set(True)
    try:
        yield
    finally:
        _FRAMED.reset(token)


def framed() -> bool:
    """Whether app.py is running the current page."""
    return _FRAMED.get()


def require_app() -> None:
    """The first line of every page script: run app.py instead when it is not framing us."""
    if framed():
        return
    runpy.run_path(str(APP_PATH), run_name="__main__")
    st.stop()
