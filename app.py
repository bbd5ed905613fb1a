"""ALS Explorer: the entry script. Routes, frames every page and catches what goes wrong.

Run with ``streamlit run app.py``. Pages are short scripts in ``pages/``; the helpers they call
are in ``dashboard/`` (the session in ``session.py``, the model in ``fitting.py``), figure code in
``dashboard/figures/``; README.md's "Architecture" draws the whole house.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import first_view, presenter


def pages() -> list:
    """Every page, listed explicitly (st.navigation turns off the pages/ folder discovery).

    A function, not a module constant, so tests can import this module: st.Page checks its
    file relative to the running script."""
    return [
        st.Page("pages/theory.py", title="How ALS works", icon=":material/school:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/table_chart:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/reconstruction.py", title="Reconstruction", icon=":material/grid_on:"),
        st.Page("pages/latent.py", title="Latent space", icon=":material/scatter_plot:"),
        st.Page("pages/update.py", title="One update by hand", icon=":material/calculate:"),
        st.Page("pages/replay.py", title="Iteration replay", icon=":material/replay:"),
        st.Page("pages/add_yourself.py", title="Add yourself", icon=":material/person_add:"),
        st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
        st.Page("pages/talk.py", title="Talk", icon=":material/slideshow:"),
    ]


def start_navigation() -> tuple[list, st.navigation]:
    """The page's settings and the menu: (every page, this run's page).

    Called before the data stack is imported: until a run calls ``st.navigation``, the browser
    lists the ``pages/`` folder's file names in the sidebar (a second or two on a fresh
    server)."""
    st.set_page_config(
        page_title="ALS Explorer",
        page_icon=":material/grid_view:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    all_pages = pages()
    return all_pages, st.navigation(all_pages, position=presenter.navigation_position())


if __name__ == "__main__":  # a script run (tests import this module for its functions)
    # Before the imports below (numpy, scipy, pandas: a second or two on a fresh server), so
    # that a new session's browser loads plotly.js meanwhile and shows the real menu at once.
    first_view.warm_up()
    ALL_PAGES, PAGE = start_navigation()

import als_core as ac  # noqa: E402 - after the warm-up, on purpose
from dashboard import fitting, scene_url, session, shell, talk_editor  # noqa: E402
from dashboard.data_sources import Dataset  # noqa: E402
from dashboard.settings import fit_metrics  # noqa: E402
from dashboard.text import md_escape  # noqa: E402

log = logging.getLogger("als_explorer")
#: The talk page's URL path (``pages/talk.py``).
TALK = "talk"


def show_page_error(error: Exception) -> None:
    """The friendly side of the error boundary: what happened and what to do, no traceback."""
    if isinstance(error, (ac.RatingsError, ValueError)):
        # The library's messages are written for people: what is wrong and how to fix it.
        st.error(f"This page could not be shown: {md_escape(error)}")
    else:
        st.error(
            "Something went wrong while drawing this page. The details were written to the "
            "server log."
        )
    st.info(
        "What to do: change the last setting back, pick another dataset on the **Data** page, "
        "or reload the browser tab to start a fresh session with the movie-night sample."
    )


def run_page(page: st.navigation) -> None:
    """Run one page inside the error boundary.

    Streamlit's own control flow (st.rerun, st.stop, switch_page) raises BaseException
    subclasses, which pass through untouched.
    """
    try:
        with shell.framing():
            page.run()
    except shell.PageNotice as notice:  # not a failure: the page says why it shows nothing
        st.info(md_escape(notice), icon=":material/info:")
    except first_view.Folded:  # a session's first run ends at the page's fold (drawn next)
        pass
    except Exception as error:
        log.exception("page %r failed", getattr(page, "title", page))
        show_page_error(error)


def fmt_count(n: int) -> str:
    return f"{n:,}"


def render_sidebar_dataset(dataset: Dataset) -> None:
    r = dataset.ratings
    st.markdown("**Dataset**")
    st.markdown(
        f"{md_escape(dataset.name)}  \n"
        f"{fmt_count(r.n_users)} users × {fmt_count(r.n_items)} items  \n"
        f"{fmt_count(r.nnz)} ratings · density {r.density:.2%}"
    )


def render_sidebar_model() -> None:
    st.markdown("**Model**")
    try:
        fit = fitting.current_fit()
    except Exception as error:
        log.exception("training for the sidebar failed")
        reason = md_escape(error) if isinstance(error, ValueError) else ""
        st.warning(f"No model: {reason}" if reason else "No model yet.")
        return
    s = fit.settings
    metrics = fit_metrics(fit)
    val = metrics["validation_rmse"]
    val_text = f"validation RMSE **{val:.3f}**" if val == val else "no validation split"
    st.markdown(
        f"k = {s['k']} · λ = {s['lam']:g} ({s['regularization']}"
        + (f", damping {s['damping']:g}" if s.get("damping") else "")
        + ")  \n"
        f"biases {'on' if s['biases'] else 'off'} · {metrics['iterations_run']} iterations  \n"
        f"{val_text}"
    )
    if fitting.training_stopped():
        st.caption("Training was stopped before the end (see the Train page).")
    if fitting.training_failure():
        st.caption("Training with the current settings failed; this is the previous model.")
    if fit.external:
        st.caption("Opened from a model directory: trained outside the app, not refitted here.")


def main(all_pages: list, page: st.navigation) -> None:
    """Run ``page`` (one of ``all_pages``, from ``start_navigation``) in the app's frame."""
    ac.prepare_engine()  # a fresh machine compiles the kernel in the background meanwhile
    try:
        session.ensure_session()
    except Exception as error:
        log.exception("could not start the session")
        show_page_error(error)
        st.stop()
    with st.sidebar:
        st.markdown("### ALS Explorer")
        summary = st.container()
    scene_url.begin(all_pages, page)  # a link's scene (once per session) and its notices
    slug = scene_url.page_slug(page)
    # The talk draws its own heading; every other page can become one of its slides.
    actions = presenter.apply(None if slug == TALK else page.title)
    if slug != TALK:
        talk_editor.add_view_button(slug, actions)
    first_view.begin()
    try:
        run_page(page)
        # The sidebar is filled after the page ran, so it shows the dataset and model the page
        # has just chosen; it stays at the top of the sidebar because its container came first.
        with summary:
            render_sidebar_dataset(session.current_dataset())
            render_sidebar_model()
        scene_url.end(page)  # the current scene into the address bar
    finally:
        first_view.end()  # a page a session's first run folded: its rest is drawn next


# Streamlit runs the entry script as __main__; tests import this module for its functions.
if __name__ == "__main__":
    main(ALL_PAGES, PAGE)
