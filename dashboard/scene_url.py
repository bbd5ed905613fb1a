"""The session's scene and the address bar: a link restores its view, the view writes its link.

Two calls in app.py: ``begin(pages, page)`` right after navigation restores the link's scene on
a session's first run (once) and shows any notice about it; ``end(page)`` after the page ran
writes the current scene back into the address bar. ``current_params(page)`` is the scene as
query parameters (the slides' settings.json records it). The encoding is ``scenes``'s.

Uploaded data cannot travel in a link: the scene says ``data=upload:<file name>``, the rest of
it is restored, and a notice asks for the file until it is uploaded or other data are chosen.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from . import data_sources, model_open, presenter, session
from .scenes import (
    HOME,
    PAGE_CHOICES,
    STARS_CHOICE,
    Scene,
    decode_scene,
    drop_unknown_names,
    encode_scene,
    generator_defaults,
    generator_settings,
    stars_key,
    who_key,
)
from .settings import DEFAULT_SETTINGS, effective_settings
from .text import md_escape

log = logging.getLogger("als_explorer")

RESTORED_KEY = "scene_restored"
NOTICES_KEY = "scene_notices"
PENDING_UPLOAD_KEY = "scene_pending_upload"  # (file name, fingerprint when the link was opened)
KEPT = "The data you had are still in use; the rest of the link applies."


def page_slug(page: Any) -> str:
    """The scene's name of a page: its URL path ("home" for the default page)."""
    return getattr(page, "url_path", "") or HOME


def begin(pages: list[Any], page: Any) -> None:
    """Call right after ``st.navigation``: restore the link's scene once, show its notices."""
    if RESTORED_KEY not in st.session_state:
        st.session_state[RESTORED_KEY] = True
        params = st.query_params.to_dict()
        if params:
            _restore(params, pages, page)
    _show_notices()


def _restore(params: dict[str, Any], pages: list[Any], page: Any) -> None:
    # A link's path names its page too (…/replay?frame=4): the page parameter, if any, wins.
    scene, problems = decode_scene({"page": page_slug(page), **params})
    notices = [f"This link's {problem}." for problem in problems]
    notices += _restore_data(scene)
    if PENDING_UPLOAD_KEY not in st.session_state:  # the names are checked once data are here
        scene, problems = drop_unknown_names(scene, *session.labels())
        notices += [f"This link's {problem}." for problem in problems]
    if scene.settings:
        session.set_settings({**session.current_settings(), **scene.settings})
    set_choices(scene.choices)
    presenter.set_active(scene.presenter)
    st.session_state[NOTICES_KEY] = notices
    target = next((p for p in pages if page_slug(p) == scene.page), None)
    if scene.page and target is None:
        notices.append(f"This link's page {scene.page!r} does not exist; showing this one.")
    moving = target is not None and page_slug(target) != page_slug(page)
    if moving or scene.presenter:
        # Rerun on the scene's page (and with the presenter layout) with the same link.
        st.switch_page(target or page, query_params=params)


def apply_view(params: dict[str, str], page_name: str) -> list[str]:
    """Make this session show the view ``params`` (a link's query parameters) describe on the
    page ``page_name``: its data when they differ from the session's, its model settings, its
    page choices. Returns a note for everything that could not be used.

    A talk's slide is shown this way (``talk_view``); unlike a link's scene it does not move to
    the page or change presenter mode."""
    scene, problems = decode_scene({**params, "page": page_name})
    notices = [f"This slide's {problem}." for problem in problems]
    now = current_params(page_name)
    if scene.data is not None and (now.get("data"), now.get("gen")) != (
        params.get("data"),
        params.get("gen"),
    ):
        notices += _restore_data(scene)
    if PENDING_UPLOAD_KEY not in st.session_state:
        scene, problems = drop_unknown_names(scene, *session.labels())
        notices += [f"This slide's {problem}." for problem in problems]
    if scene.settings:
        wanted = {**session.current_settings(), **scene.settings}
        if wanted != session.current_settings():
            session.set_settings(wanted)
    set_choices(scene.choices)
    return notices


def set_choices(choices: dict[str, Any]) -> None:
    """A scene's page choices into the session (its widgets' keys). Add yourself's stars go
    to each rated item's star widget on the current data."""
    for key, value in choices.items():
        if key != STARS_CHOICE:
            st.session_state[key] = value
            continue
        fingerprint = session.current_fingerprint()
        index = {str(name): j for j, name in enumerate(session.labels()[1])}
        for name, stars in value.items():
            if str(name) in index:
                st.session_state[stars_key(fingerprint, index[str(name)])] = int(stars) - 1


def given_stars() -> dict[str, int]:
    """Add yourself's star ratings on the current data: {item name: stars, 1 to 5}."""
    prefix = stars_key(session.current_fingerprint(), "")
    items = session.labels()[1]
    rated = {}
    for key, value in st.session_state.items():
        if isinstance(key, str) and key.startswith(prefix) and value is not None:
            item = key.removeprefix(prefix)
            if item.isdigit() and int(item) < len(items):
                rated[int(item)] = int(value) + 1
    return {str(items[item]): stars for item, stars in sorted(rated.items())}


def _restore_data(scene: Scene) -> list[str]:
    if scene.data is None:
        return []
    kind, _, name = scene.data.partition(":")
    try:
        if kind == "sample":
            if name not in data_sources.sample_names():
                return [f"This link's sample {name!r} does not exist; the default data are used."]
            session.set_dataset(data_sources.load_sample_dataset(name))
        elif kind == "synthetic":
            try:
                dataset = data_sources.synthetic_dataset(**(scene.generator or {}))
            except data_sources.GeneratorError as error:
                return [f"This link's generated data were refused: {error} {KEPT}"]
            session.set_dataset(dataset)
        elif kind == "movielens-100k":
            session.set_dataset(data_sources.movielens_dataset())
        elif kind == "model":  # a saved model's directory on the server: opened again
            session.set_model(*model_open.open_model_directory(name))
        elif kind == "model-upload":
            return [
                f"This link was made with an uploaded model, {name}, which a link cannot "
                "carry: upload it again on the Data page (Saved model). Until then the sample "
                "data are shown."
            ]
        elif kind == "upload":
            st.session_state[PENDING_UPLOAD_KEY] = (name, session.current_fingerprint())
    except Exception as error:  # a download or model failure must not break the page
        log.exception("could not load the data of a link")
        return [f"This link's data could not be loaded ({error}). {KEPT}"]
    return []


def _pending_upload() -> str | None:
    """The file name the link asked for, while the user has not uploaded or chosen other data."""
    pending = st.session_state.get(PENDING_UPLOAD_KEY)
    if not pending:
        return None
    name, fingerprint = pending
    dataset = session.current_dataset()
    if dataset.source.startswith("upload:") or session.current_fingerprint() != fingerprint:
        del st.session_state[PENDING_UPLOAD_KEY]
        return None
    return name


def _show_notices() -> None:
    for notice in st.session_state.get(NOTICES_KEY, []):
        st.warning(md_escape(notice), icon=":material/link:")  # it quotes the link
    st.session_state[NOTICES_KEY] = []
    name = _pending_upload()
    if name:
        st.info(
            f"This link was made with an uploaded file, **{md_escape(name)}**, which a link "
            "cannot carry. Upload it on the **Data** page (Upload a file) to see exactly this "
            "view; the link's model settings are already applied. Until then the sample data "
            "are shown.",
            icon=":material/upload_file:",
        )


def current_scene(page_name: str | None) -> Scene:
    """This session's scene now (for the address bar and for the slides' settings.json)."""
    dataset = session.current_dataset()
    generator = generator_settings(dataset.truth) if dataset.source == "synthetic" else None
    data = dataset.source
    pending = _pending_upload()
    if pending:
        data = f"upload:{pending}"
    choices = {}
    for param, (key, _) in PAGE_CHOICES.get(page_name or "", {}).items():
        if param == "who":
            key = who_key(st.session_state.get("update_side"))
        if key in st.session_state:
            choices[key] = st.session_state[key]
    if STARS_CHOICE in PAGE_CHOICES.get(page_name or "", {}).get("stars", ()):
        choices[STARS_CHOICE] = given_stars()
    return Scene(
        page=page_name,
        data=data,
        generator=generator,
        settings=effective_settings(session.current_settings(), dataset.ratings),
        choices=choices,
        presenter=presenter.active(),
    )


def current_params(page_name: str | None = None) -> dict[str, str]:
    """The current scene as query parameters."""
    return encode_scene(
        current_scene(page_name),
        defaults=DEFAULT_SETTINGS,
        generator_defaults=generator_defaults(),
    )


def end(page: Any) -> None:
    """Call after the page ran: write the current scene into the address bar (if it changed)."""
    try:
        params = current_params(page_slug(page))
    except Exception:  # the address bar is a convenience: never break the page for it
        log.exception("could not write the scene")
        return
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
