"""Talks: a sequence of slides, each one live view of the app, and how a talk travels.

A slide is a page, the view on it as its link's query parameters (a scene of ``scenes``, without
the page and presenter mode), the one figure that matters on that page (a chart key), a short
title and a speaker note. A talk is a title and its slides. It saves as a small JSON file
(``talk_json`` / ``read_talk``) and, when short enough, travels in the talk page's link as one
compressed parameter (``talk_code`` / ``read_talk_code``).

Plain Python (no Streamlit): ``talk_view`` draws the talk page, ``talk_editor`` makes it,
``deck_build`` and ``deck`` export the offline deck. The default talk (``default_talk``)
tells the article's story on the session's current data: its slides carry only page choices,
never a dataset or model settings.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: What a talk file says it is (a JSON file of something else is refused with a clear message).
FORMAT = "als-explorer-talk"
VERSION = 1
#: Limits of a loaded talk: a talk file is small; anything larger is not one of ours.
MAX_FILE_BYTES = 200_000
MAX_SLIDES = 100
MAX_TITLE = 120
MAX_NOTE = 4000
MAX_PARAM_VALUE = 1000
#: A talk goes into the talk page's link only up to this many characters of code (browsers and
#: servers accept much longer links, but a link meant to be shared should stay short).
MAX_CODE_CHARS = 1800

#: The app's pages as the talk names them (their URL path; "home" is the default page) and the
#: script that draws each (app.py's ``pages()``; a test checks the two agree).
PAGE_FILES: dict[str, str] = {
    "home": "pages/theory.py",
    "data": "pages/data.py",
    "train": "pages/train.py",
    "reconstruction": "pages/reconstruction.py",
    "latent": "pages/latent.py",
    "update": "pages/update.py",
    "replay": "pages/replay.py",
    "add_yourself": "pages/add_yourself.py",
    "experiments": "pages/experiments.py",
}
#: The figures a slide can show: page -> {chart key: what it shows}. The first of each page is
#: its main figure (the one presenter mode sizes to the screen, and "Add this view" picks).
FIGURES: dict[str, dict[str, str]] = {
    "home": {
        "theory_excerpt_chart": "R: the most active users × most rated items",
        "theory_factors_chart": "R ≈ X·Yᵀ on the same excerpt",
        "theory_filled_chart": "The holes filled in by the model",
    },
    "data": {
        "data_pattern_chart": "Observed ratings (the pattern of holes)",
        "data_hist_chart": "Rating values",
        "data_activity_chart": "Ratings per user and per item",
    },
    "train": {
        "train_objective_chart": "Objective after each half-step, with its two terms",
        "train_rmse_chart": "RMSE per iteration",
    },
    "reconstruction": {"recon_chart": "R, XYᵀ and the residual"},
    "latent": {
        "latent_map": "Users and items on one map",
        "latent_contributions": "What makes each recommended score",
    },
    "update": {
        "update_system_chart": "The k×k system A x = B",
        "update_predictions_chart": "Predictions before and after the update",
    },
    "replay": {
        "replay_map_chart": "Latent map at one moment of the fit",
        "replay_loss_chart": "Objective with the moment marked",
        "replay_recon_chart": "Reconstruction at one moment of the fit",
    },
    "add_yourself": {
        "you_map_chart": "You among the users and items",
        "you_top_chart": "Your predicted top items",
    },
    "experiments": {
        "exp_compare_chart": "ALS vs gradient descent",
        "exp_missing_bars": "Missing ≠ zero: RMSE",
        "exp_missing_hist": "Missing ≠ zero: predictions",
        "exp_sweep_heatmap": "Validation RMSE for every k and λ",
        "exp_sweep_lam_curve": "The λ curve (U-curve)",
        "exp_sweep_k_curve": "The k curve (U-curve)",
        "exp_recovery_chart": "Recovering planted factors",
        "exp_implicit_bars": "Implicit feedback: ranking",
        "exp_baselines_bars": "Against simple baselines",
    },
}
#: An experiment's figures appear only in its own section (the link's ``section``).
EXPERIMENT_SECTIONS: dict[str, str] = {
    "exp_compare_chart": "compare",
    "exp_missing_bars": "missing",
    "exp_missing_hist": "missing",
    "exp_sweep_heatmap": "sweep",
    "exp_sweep_lam_curve": "sweep",
    "exp_sweep_k_curve": "sweep",
    "exp_recovery_chart": "recovery",
    "exp_implicit_bars": "implicit",
    "exp_baselines_bars": "baselines",
}
#: Parameters a slide never keeps: the page is the slide's own field, presenter mode is the
#: talk's, and the talk page's own choices are not a view.
NOT_A_VIEW = ("page", "present", "slide", "talk")


class TalkError(ValueError):
    """A talk file or link that cannot be used; the message says why in the user's words."""


@dataclass(frozen=True)
class Slide:
    """One slide: a live view (page + its link's parameters), its figure, title and note."""

    title: str
    page: str
    figure: str
    params: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def with_params(self, params: Mapping[str, str]) -> Slide:
        return replace(self, params=view_params(params))

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "page": self.page,
            "figure": self.figure,
            "view": dict(self.params),
            "note": self.note,
        }


@dataclass(frozen=True)
class Talk:
    """A titled sequence of slides (immutable: every edit makes a new talk)."""

    title: str
    slides: tuple[Slide, ...] = ()

    def __len__(self) -> int:
        return len(self.slides)

    def replace_slide(self, index: int, slide: Slide) -> Talk:
        slides = list(self.slides)
        slides[index] = slide
        return replace(self, slides=tuple(slides))

    def added(self, slide: Slide) -> Talk:
        return replace(self, slides=(*self.slides, slide))

    def deleted(self, index: int) -> Talk:
        return replace(self, slides=self.slides[:index] + self.slides[index + 1 :])

    def moved(self, index: int, to: int) -> Talk:
        """The slide at ``index`` moved to position ``to`` (clipped to the talk)."""
        slides = list(self.slides)
        slide = slides.pop(index)
        slides.insert(min(max(to, 0), len(slides)), slide)
        return replace(self, slides=tuple(slides))

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "title": self.title,
            "slides": [slide.as_dict() for slide in self.slides],
        }


def view_params(params: Mapping[str, Any]) -> dict[str, str]:
    """A link's parameters as a slide keeps them (strings; no page, presenter or talk)."""
    return {str(k): str(v) for k, v in params.items() if k not in NOT_A_VIEW}


def figure_label(page: str, figure: str) -> str:
    return FIGURES.get(page, {}).get(figure, figure)


def main_figure(page: str) -> str | None:
    """The figure "Add this view to the talk" puts on a slide of ``page``."""
    figures = FIGURES.get(page)
    return next(iter(figures)) if figures else None


# --------------------------------------------------------------------------- the default talk
def _slide(title: str, page: str, figure: str, note: str, **params: str) -> Slide:
    if figure in EXPERIMENT_SECTIONS:
        params = {"section": EXPERIMENT_SECTIONS[figure], **params}
    return Slide(title=title, page=page, figure=figure, params=params, note=note)


def default_talk() -> Talk:
    """The article's story in twelve live slides, on whatever data the session has."""
    return Talk(
        title="Alternating least squares, live",
        slides=(
            _slide(
                "A rating table that is mostly holes",
                "data",
                "data_pattern_chart",
                "Rows are users, columns items; a coloured dash is a rating. Most cells are "
                "empty: not zeros, just unknown. Hover a dash. The whole method only ever "
                "looks at the coloured cells.",
            ),
            _slide(
                "The objective and its two terms",
                "train",
                "train_objective_chart",
                "What ALS minimises: squared errors on the rated cells (data term) plus λ "
                "times the size of every factor vector (regularisation term). The total never "
                "rises; its two parts trade off, a sawtooth from one half-step to the next.",
            ),
            _slide(
                "One update, built rating by rating",
                "update",
                "update_system_chart",
                "Fix the items, and one user's factors are a small k×k least-squares problem. "
                "Each rating adds y yᵀ to A and r·y to B; one solve gives x. Open the controls "
                "and step back through the ratings to build it live.",
            ),
            _slide(
                "Each half-step lowers the loss",
                "replay",
                "replay_loss_chart",
                "Every solve lands at the bottom of its bowl, so the objective can only go "
                "down: users solved (.5 points), then items (whole numbers). No step size to "
                "tune. The ring marks the moment shown; move it in the controls.",
                frame="3",
            ),
            _slide(
                "The fit, replayed",
                "replay",
                "replay_map_chart",
                "The latent map from the random start: press Play (in the controls) and watch "
                "users move, then items, until the map settles. Same data, settings and seed "
                "as the model on every other slide.",
                frame="0",
            ),
            _slide(
                "R beside XYᵀ",
                "reconstruction",
                "recon_chart",
                "Left the ratings, middle the model's prediction for every cell, right the "
                "error on the rated ones. Sorted by the leading pattern, groups with shared "
                "tastes form blocks; pink marks are held-out ratings the model never saw.",
            ),
            _slide(
                "Users and items on one map",
                "latent",
                "latent_map",
                "One shared 2-D view of the factors: items that point the same way are liked "
                "by the same people. The star is an item with its neighbours, the × a user "
                "with the items recommended to them.",
            ),
            _slide(
                "A user's recommendations, and why",
                "latent",
                "latent_contributions",
                "Each recommended score is a sum: one product x_uf·y_if per factor (plus the "
                "biases). Bars to the right raise the score, to the left lower it. Pick "
                "another user in the controls.",
            ),
            _slide(
                "λ and k: the U-curve",
                "experiments",
                "exp_sweep_lam_curve",
                "Validation error against λ at the best k: too little regularisation "
                "overfits, too much underfits, the bottom of the U is the λ to use. The same "
                "sweep gives the curve along k.",
            ),
            _slide(
                "ALS against gradient descent, in seconds",
                "experiments",
                "exp_compare_chart",
                "The same objective from the same start: ALS takes exact steps and gets there "
                "in a few iterations; gradient descent and SGD need a step size and many more "
                "steps within the same seconds.",
            ),
            _slide(
                "Missing is not zero",
                "experiments",
                "exp_missing_bars",
                "The article's first idea, zeros in the holes and a truncated SVD, against "
                "ALS on the observed ratings only. Zeros drag every prediction down; ALS "
                "never looks at the missing cells.",
            ),
            _slide(
                "Add yourself",
                "add_yourself",
                "you_map_chart",
                "Rate a few items (open the controls, or fill in an example) and one exact "
                "half-step against the trained item factors places you on the map, with your "
                "top items: no retraining.",
            ),
        ),
    )


# ------------------------------------------------------------------------------ as JSON
def talk_json(talk: Talk) -> str:
    """The talk as a small, readable JSON document (what "Save this talk" downloads)."""
    return json.dumps(talk.as_dict(), indent=2, ensure_ascii=False) + "\n"


def read_talk(data: bytes | str) -> Talk:
    """A talk from its JSON file; ``TalkError`` says what is wrong with a bad one.

    Checked: the size, that it is JSON, that it is a talk (its ``format``), and every slide's
    title, page, figure, view and note. A slide whose view has parameters the app does not
    know is kept (the link decoder ignores them and says so when the slide is shown).
    """
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise TalkError(
                f"the file has {len(data):,} bytes; a talk file is at most "
                f"{MAX_FILE_BYTES:,} (is it the right file?)"
            )
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise TalkError("the file is not text (UTF-8); choose a talk's .json file") from error
    elif len(data) > MAX_FILE_BYTES:
        raise TalkError(f"the talk is longer than {MAX_FILE_BYTES:,} characters")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        raise TalkError(
            f"the file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    return talk_from_dict(document)


def talk_from_dict(document: Any) -> Talk:
    """A talk from its parsed JSON (see ``read_talk``)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TalkError(
            "this is not a talk saved by ALS Explorer (a talk file has "
            f'"format": "{FORMAT}"); save one with "Save this talk" on the Talk page'
        )
    version = document.get("version")
    if version != VERSION:
        raise TalkError(f"this talk file has version {version!r}; this app reads version {VERSION}")
    title = _text(document.get("title", ""), "the talk's title", MAX_TITLE)
    slides = document.get("slides")
    if not isinstance(slides, list):
        raise TalkError('the talk has no list of "slides"')
    if len(slides) > MAX_SLIDES:
        raise TalkError(f"the talk has {len(slides)} slides; at most {MAX_SLIDES} are read")
    return Talk(
        title=title or "My talk",
        slides=tuple(_slide_from_dict(s, n) for n, s in enumerate(slides, start=1)),
    )


def _slide_from_dict(entry: Any, number: int) -> Slide:
    where = f"slide {number}"
    if not isinstance(entry, dict):
        raise TalkError(f"{where} is not an object with a title, page, figure, view and note")
    page = entry.get("page")
    if page not in FIGURES:
        raise TalkError(
            f"{where} names the page {page!r}, which this app does not have (pages: "
            f"{', '.join(FIGURES)})"
        )
    figure = entry.get("figure", main_figure(page))
    if figure not in FIGURES[page]:
        raise TalkError(
            f"{where} asks for the figure {figure!r}, which the page {page!r} does not draw "
            f"(it draws {', '.join(FIGURES[page])})"
        )
    view = entry.get("view", {})
    if not isinstance(view, dict):
        raise TalkError(f"{where}'s view must be an object of link parameters")
    for key, value in view.items():
        if not isinstance(value, (str, int, float, bool)) or isinstance(value, bool):
            raise TalkError(f"{where}'s view parameter {key!r} must be text or a number")
        if len(str(key)) > 40 or len(str(value)) > MAX_PARAM_VALUE:
            raise TalkError(f"{where}'s view parameter {str(key)[:40]!r} is too long")
    params = view_params(view)
    if figure in EXPERIMENT_SECTIONS:
        params["section"] = EXPERIMENT_SECTIONS[figure]  # the figure decides the section
    return Slide(
        title=_text(entry.get("title", ""), f"{where}'s title", MAX_TITLE)
        or figure_label(page, figure),
        page=page,
        figure=figure,
        params=params,
        note=_text(entry.get("note", ""), f"{where}'s note", MAX_NOTE),
    )


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise TalkError(f"{what} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise TalkError(f"{what} has {len(value):,} characters; at most {limit:,} are kept")
    return value.strip()


# ------------------------------------------------------------------------------ in a link
def talk_code(talk: Talk) -> str:
    """The talk as one URL-safe parameter value (compressed JSON).

    A slide of the default talk is written as its number (with its view when that changed), so
    the default talk and talks made from it stay short enough for a link."""
    defaults = default_talk().slides
    slides: list[Any] = []
    for slide in talk.slides:
        base = next(
            (
                j
                for j, d in enumerate(defaults)
                if (d.title, d.page, d.figure, d.note)
                == (slide.title, slide.page, slide.figure, slide.note)
            ),
            None,
        )
        if base is None:
            slides.append(slide.as_dict())
        elif slide.params == defaults[base].params:
            slides.append(base)
        else:
            slides.append({"default": base, "view": slide.params})
    compact = json.dumps(
        {"title": talk.title, "slides": slides}, separators=(",", ":"), ensure_ascii=False
    )
    packed = zlib.compress(compact.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def read_talk_code(code: str) -> Talk:
    """The talk a link's ``talk`` parameter carries; ``TalkError`` when it is damaged."""
    if len(code) > 4 * MAX_CODE_CHARS:
        raise TalkError("the link's talk is too long")
    try:
        packed = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
        # Bounded: a few kilobytes of code never need more than MAX_FILE_BYTES of JSON.
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, MAX_FILE_BYTES)
        if inflater.unconsumed_tail:
            raise TalkError("the link's talk is too long")
        document = json.loads(text.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as error:
        if isinstance(error, TalkError):
            raise
        raise TalkError("the link's talk is damaged (was the link cut short?)") from error
    if not isinstance(document, dict) or not isinstance(document.get("slides"), list):
        raise TalkError("the link's talk is damaged (was the link cut short?)")
    defaults = default_talk().slides
    slides = []
    for entry in document["slides"]:
        base, view = entry, None
        if isinstance(entry, dict) and "default" in entry:
            base, view = entry["default"], entry.get("view")
        if isinstance(base, int) and not isinstance(base, bool):
            if not 0 <= base < len(defaults):
                raise TalkError("the link's talk names a slide this app does not have")
            entry = defaults[base].as_dict()
            if view is not None:
                entry["view"] = view
        slides.append(entry)
    return talk_from_dict(
        {"format": FORMAT, "version": VERSION, "title": document.get("title", ""), "slides": slides}
    )


def code_for_link(talk: Talk) -> str | None:
    """The talk's code when it is short enough for the link, else None."""
    code = talk_code(talk)
    return code if len(code) <= MAX_CODE_CHARS else None
