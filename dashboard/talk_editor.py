"""Making a talk: "Add this view to the talk" on every page, and the talk page's editor below
the slide (edit the current slide, reorder and delete, save and load the talk, start again).

Button and widget callbacks on this session's talk (``talk_session``); the widget keys are the
ones the talk page's links and tests know.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from . import scene_url, talks
from .talk_session import NOTICE_KEY, SLIDE_KEY, current_talk, set_talk, slide_number


def add_view(page_name: str) -> None:
    """Button callback: the current view of ``page_name`` becomes the talk's last slide."""
    params = scene_url.current_params(page_name)
    figure = talks.main_figure(page_name)
    section = params.get("section")
    if page_name == "experiments" and section:
        figure = next((f for f, s in talks.EXPERIMENT_SECTIONS.items() if s == section), figure)
    if figure is None:
        return
    slide = talks.Slide(
        title=talks.figure_label(page_name, figure),
        page=page_name,
        figure=figure,
        params=talks.view_params(params),
    )
    talk = current_talk()
    if len(talk) >= talks.MAX_SLIDES:
        st.toast(f"A talk has at most {talks.MAX_SLIDES} slides.", icon=":material/block:")
        return
    set_talk(talk.added(slide))
    st.toast(f"Added as slide {len(talk) + 1} of the talk.", icon=":material/slideshow:")


def add_view_button(page_name: str, where: Any = None) -> None:
    """ "Add this view to the talk", on any page that has a figure a slide can show."""
    if talks.main_figure(page_name) is None:
        return
    (where if where is not None else st.sidebar).button(
        "Add this view to the talk",
        key="talk_add_view",
        icon=":material/add_to_queue:",
        type="tertiary",
        on_click=add_view,
        args=(page_name,),
        help="A new slide at the end of the talk: this page, exactly as it is set up now "
        "(its link), with its main figure. Give the talk on the Talk page.",
    )


def edit_title() -> None:
    _edit_current(title=st.session_state.get("talk_w_title", "").strip()[: talks.MAX_TITLE])


def edit_note() -> None:
    _edit_current(note=st.session_state.get("talk_w_note", "")[: talks.MAX_NOTE])


def edit_figure() -> None:
    _edit_current(figure=st.session_state.get("talk_w_figure"))


def _edit_current(**changes: Any) -> None:
    talk = current_talk()
    number = slide_number(talk)
    if not talk.slides:
        return
    slide = talk.slides[number - 1]
    if "title" in changes and not changes["title"]:
        changes["title"] = talks.figure_label(slide.page, slide.figure)
    if "figure" in changes:
        figure = changes["figure"]
        if figure not in talks.FIGURES.get(slide.page, {}):
            return
        params = dict(slide.params)
        if figure in talks.EXPERIMENT_SECTIONS:
            params["section"] = talks.EXPERIMENT_SECTIONS[figure]
        changes["params"] = params
    set_talk(talk.replace_slide(number - 1, replace(slide, **changes)), structural=False)


def move_current(step: int) -> None:
    talk = current_talk()
    number = slide_number(talk)
    to = min(max(number - 1 + step, 0), len(talk) - 1)
    set_talk(talk.moved(number - 1, to))
    st.session_state[SLIDE_KEY] = to + 1


def delete_current() -> None:
    talk = current_talk()
    number = slide_number(talk)
    set_talk(talk.deleted(number - 1))
    st.session_state[SLIDE_KEY] = min(number, max(len(talk) - 1, 1))


def start_over(default: bool) -> None:
    set_talk(talks.default_talk() if default else talks.Talk(title="My talk"))
    st.session_state[SLIDE_KEY] = 1


def load_file() -> None:
    """The uploader's callback: a talk file replaces the talk, a bad one changes nothing."""
    uploaded = st.session_state.get("talk_w_upload")
    if uploaded is None:
        return
    try:
        talk = talks.read_talk(uploaded.getvalue())
    except talks.TalkError as error:
        st.session_state[NOTICE_KEY] = (
            "warning",
            f"{uploaded.name} could not be loaded: {error}. Your talk is unchanged.",
        )
        return
    set_talk(talk)
    st.session_state[SLIDE_KEY] = 1
    st.session_state[NOTICE_KEY] = (
        "success",
        f"Loaded “{talk.title}” from {uploaded.name}: {len(talk)} slides.",
    )


def editor(talk: talks.Talk, number: int) -> None:
    """Below the slide: edit the current slide, reorder and delete, save and load the talk."""
    with st.expander("Edit this talk", icon=":material/edit:", expanded=not talk.slides):
        if talk.slides:
            slide = talk.slides[number - 1]
            st.markdown(f"**Slide {number} of {len(talk)}** · page *{slide.page}*")
            st.text_input(
                "Title", key="talk_w_title", max_chars=talks.MAX_TITLE, on_change=edit_title
            )
            figures = talks.FIGURES[slide.page]
            st.session_state["talk_w_figure"] = slide.figure
            st.selectbox(
                "Figure",
                list(figures),
                key="talk_w_figure",
                format_func=figures.__getitem__,
                on_change=edit_figure,
            )
            st.text_area(
                "Speaker note", key="talk_w_note", max_chars=talks.MAX_NOTE, on_change=edit_note
            )
            row = st.container(horizontal=True, gap="small")
            row.button(
                "Move earlier",
                key="talk_move_up",
                icon=":material/arrow_upward:",
                on_click=move_current,
                args=(-1,),
                disabled=number <= 1,
            )
            row.button(
                "Move later",
                key="talk_move_down",
                icon=":material/arrow_downward:",
                on_click=move_current,
                args=(1,),
                disabled=number >= len(talk),
            )
            row.button(
                "Delete this slide",
                key="talk_delete",
                icon=":material/delete:",
                on_click=delete_current,
            )
            st.dataframe(
                [
                    {"slide": j, "title": s.title, "page": s.page}
                    for j, s in enumerate(talk.slides, start=1)
                ],
                hide_index=True,
                width="stretch",
            )
        st.caption(
            "Add slides from any page with **Add this view to the talk** (at the top of the "
            "page in presenter mode, in the sidebar otherwise)."
        )
        row = st.container(horizontal=True, gap="small")
        row.download_button(
            "Save this talk (JSON)",
            data=talks.talk_json(talk),
            file_name="als-explorer-talk.json",
            mime="application/json",
            key="talk_save",
            icon=":material/download:",
            on_click="ignore",
        )
        row.button(
            "Start from the default talk",
            key="talk_default",
            on_click=start_over,
            args=(True,),
        )
        row.button("Start an empty talk", key="talk_empty", on_click=start_over, args=(False,))
        st.file_uploader(
            "Load a talk (JSON)",
            type=["json"],
            key="talk_w_upload",
            on_change=load_file,
            max_upload_size=1,
        )
        if talk.slides and talks.code_for_link(talk) is None:
            st.caption(
                "This talk is too long to travel in the link: save it as a file to share it."
            )
