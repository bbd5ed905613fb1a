"""Text from outside the app (ids, titles, file names, column names) made safe to show.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, the alert boxes and widget labels,
with its own extensions on top: ``$…$`` is LaTeX, ``:name:`` an emoji or icon, ``:red[…]`` a
colour. A title such as "$9.99 (2008)" or an id such as ``[x](javascript:…)`` must show as
written, never as formula or link: every such value goes through ``md_escape`` before it is put
into Markdown. (Tables, select boxes and plotly hovers do not render Markdown: pass them the
plain value.)
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation character, and an escaped character
# is never syntax: neither Markdown's nor Streamlit's (LaTeX, emoji, colours, directives).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md_escape(value: object) -> str:
    r"""``value`` as text that Markdown shows literally, on one line.

    Parameters
    ----------
    value : object
        Anything; it is shown as ``str(value)``.

    Returns
    -------
    str
        Every ASCII punctuation character preceded by a backslash, line breaks as spaces:
        ``$9.99 (2008)`` becomes ``\$9\.99 \(2008\)``.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    return _PUNCTUATION.sub(r"\\\1", text)
