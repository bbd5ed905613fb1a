"""md_escape: outside text shown in Markdown exactly as written."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from dashboard.text import md_escape


def unescape(markdown: str) -> str:
    """What CommonMark shows for a backslash before ASCII punctuation: the character alone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@given(st.text())
def test_the_shown_text_is_the_value_on_one_line(value):
    shown = unescape(md_escape(value))
    assert shown == re.sub(r"[\r\n\u2028\u2029]+", " ", value)


@given(st.text(alphabet=string.punctuation + "ab 9é"))
def test_no_punctuation_is_left_as_syntax(value):
    escaped = md_escape(value)
    # Read left to right: every punctuation character is either an escape or escaped.
    i = 0
    while i < len(escaped):
        if escaped[i] in string.punctuation:
            assert escaped[i] == "\\" and escaped[i + 1] in string.punctuation, escaped
            i += 2
        else:
            i += 1


def test_links_formulas_and_emoji_codes_are_broken_up():
    assert md_escape("[x](javascript:alert(12))") == r"\[x\]\(javascript\:alert\(12\)\)"
    assert md_escape("$9.99 (2008)") == r"\$9\.99 \(2008\)"
    assert md_escape(":red[Heat]") == r"\:red\[Heat\]"
    assert md_escape("Amélie\n2001") == "Amélie 2001"
