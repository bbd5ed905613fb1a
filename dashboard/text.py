"""Text from outside the app (ids, titles, file names, column names) made safe to show.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, the alert boxes and widget labels,
with its own extensions on top: ``$…$`` is LaTeX, ``:name:`` an emoji or icon, ``:red[…]`` a
colour. A title such as "$9.99 (2008)" or an id such as ``[x](javascript:…)`` must show as
written, never as formula or link: every such value goes through ``md_escape`` before it is put
into Markdown. (Tables and select boxes render neither: pass them the plain value.)

Plotly reads a subset of HTML in every text it draws (trace names, hover text and templates,
tick labels, titles, annotations): ``<b>``, ``<br>``, ``<a href=…>``, ``<span style=…>`` and
entities such as ``&amp;``, and it fills ``%{…}`` in hover and text templates. A title such as
``<a href="javascript:…">x</a>`` or "Tom & Jerry <3" must show as written there too: every
outside value goes through ``plotly_escape`` before it reaches a figure.
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


# Plotly decodes entities in the text it draws (named: only amp, lt, gt and a few more; numeric:
# all), and only after it has looked for tags, templates (``%{…}``) and LaTeX (``$…$``): so
# these characters written as entities are shown as themselves and never read as syntax.
_PLOTLY_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "%": "&#37;", "$": "&#36;"}
)


def plotly_escape(value: object) -> str:
    """``value`` as text that a plotly figure shows literally.

    Parameters
    ----------
    value : object
        Anything; it is shown as ``str(value)``.

    Returns
    -------
    str
        ``&``, ``<`` and ``>`` as HTML entities, ``%`` and ``$`` as numeric entities: plotly
        shows ``<a href="x">y</a>`` as those characters (no link), and a ``%{y}`` in a name
        put into a hover template is not filled in.
    """
    return str(value).translate(_PLOTLY_ENTITIES)
