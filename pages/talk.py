"""The talk: slides that are live views of the app, walked with the keys or a clicker.

PageDown, → and Space go forward; PageUp and ← back; Home and End jump. Each slide is a page
with its view (as its link encodes it), one figure sized to the screen and a speaker note; the
talk is made, saved, loaded and exported as an offline deck below the slide
(``dashboard/talk_view.py``, with ``talk_editor.py`` and ``deck_build.py``).
"""

from __future__ import annotations

from dashboard import shell, talk_view

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

talk_view.main()
