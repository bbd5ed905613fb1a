"""Scenes in the URL: a bookmarked link reopens exactly the same view.

A scene is the page, the dataset (a sample's name, or the generator's settings), the model
settings (k, λ, iterations, regularisation, biases, seed and any non-default split/stopping),
the page's own choices (the user or item followed on the update page, the replay frame, the
Reconstruction page's order, sizes and extra users/items, the Latent page's colouring, item and
user, the Experiments section…) and presenter mode. It lives in ``st.query_params``::

    ?page=update&data=sample:tiny&k=2&lam=1&it=15&reg=plain&bias=1&seed=0&side=users&who=Ana

This module is the plain-Python half (``Scene``, ``encode_scene``, ``decode_scene``), tested on
its own. ``scene_url`` is the Streamlit half: the session's scene read from and written to the
address bar.

Uploaded data cannot travel in a link: the scene says ``data=upload:<file name>``, the rest of
it is restored, and a notice asks for the file until it is uploaded or other data are chosen.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import als_core as ac

from . import controls
from .experiment_work import EXPERIMENTS
from .talks import MAX_SLIDES

HOME = "home"
#: Model settings in the URL: parameter -> (settings key, parser). Always written.
MODEL_PARAMS: dict[str, tuple[str, Callable[[str], Any]]] = {}
#: More settings, written only when they differ from the defaults.
EXTRA_PARAMS: dict[str, tuple[str, Callable[[str], Any]]] = {}
#: Page choices: page slug -> {parameter: (session key, parser)}.
PAGE_CHOICES: dict[str, dict[str, tuple[str, Callable[[str], Any]]]] = {}
#: Generator settings always written (the others only when they differ from the defaults).
GENERATOR_ALWAYS = ("n_users", "n_items", "rank", "density", "seed")


# --------------------------------------------------------------------------------- parsing
def parse_int(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError(f"expected a whole number, got {text!r}")
    return int(value)


def parse_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 1 or 0, got {text!r}")


def _shown(number: float) -> str:
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


def _ranged(parse: Callable[[str], Any], what: str) -> Callable[..., Callable[[str], Any]]:
    """A maker of parsers that take what ``parse`` takes, from ``low`` to ``high`` only."""

    def make(low: Any, high: Any) -> Callable[[str], Any]:
        def parse_in(text: str) -> Any:
            try:
                value = parse(text)
            except (ValueError, OverflowError):
                value = None
            if value is None or not low <= value <= high:
                raise ValueError(
                    f"expected {what} from {_shown(low)} to {_shown(high)}, got {text!r}"
                )
            return value

        return parse_in

    return make


#: parse_int_in(low, high): whole numbers from low to high (both included).
parse_int_in = _ranged(parse_int, "a whole number")
#: parse_float_in(low, high): finite numbers from low to high (both included).
parse_float_in = _ranged(parse_float, "a number")


def parse_choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {text!r}")
        return text

    return parse


def parse_int_or(low: int, high: int, *words: str) -> Callable[[str], int | str]:
    """A parser of one of ``words`` or a whole number from ``low`` to ``high``."""
    number = parse_int_in(low, high)

    def parse(text: str) -> int | str:
        if text in words:
            return text
        try:
            return number(text)
        except ValueError:
            raise ValueError(
                f"expected {' or '.join(words)} or a whole number from {_shown(low)} to "
                f"{_shown(high)}, got {text!r}"
            ) from None

    return parse


def parse_text(text: str) -> str:
    return str(text)


#: Separates the names of a list in one URL value ("Ana~Ben"); "~" is left as it is by URL
#: encoding, so links stay readable. A name's own "~" or "\\" is escaped with a backslash.
LIST_SEPARATOR = "~"


def _escape_list_item(text: str) -> str:
    return text.replace("\\", "\\\\").replace(LIST_SEPARATOR, "\\" + LIST_SEPARATOR)


def parse_names(text: str) -> list[str]:
    """A list of names from one URL value: "Ana~Ben" -> ["Ana", "Ben"] (escapes undone)."""
    names: list[str] = []
    current: list[str] = []
    chars = iter(str(text))
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == LIST_SEPARATOR:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    return [name for name in names if name]


def format_value(value: Any) -> str:
    """A setting as it appears in the URL: 1/0 for booleans, shortest exact text for numbers."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(_escape_list_item(format_value(v)) for v in value)
    return str(value)


def parse_optional(parser: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parser``, or None for the word "none"."""

    def parse(text: str) -> Any:
        return None if str(text).strip().lower() == "none" else parser(text)

    return parse


def parse_pair(text: str) -> tuple[float, float]:
    """Two finite numbers joined by ``~`` ("1~5")."""
    parts = str(text).split(LIST_SEPARATOR)
    if len(parts) != 2:
        raise ValueError(f"expected two numbers joined by ~ (low~high), got {text!r}")
    low, high = (parse_float(part) for part in parts)
    return (low, high)


#: The generator's settings in a link (``gen=name:value,…``): name -> parser. Only the types are
#: checked here; ``ac.synthetic`` checks the values and its size limits, for every caller.
GENERATOR_PARAMS: dict[str, Callable[[str], Any]] = {
    "n_users": parse_int,
    "n_items": parse_int,
    "rank": parse_int,
    "density": parse_float,
    "noise": parse_float,
    "scale": parse_pair,
    "rounding": parse_optional(parse_float),
    "clip": parse_bool,
    "popularity_skew": parse_float,
    "clusters": parse_optional(parse_int),
    "cluster_spread": parse_float,
    "seed": parse_optional(parse_int),
}


MODEL_PARAMS.update(
    {
        "k": ("k", parse_int_in(*controls.K_RANGE)),
        "lam": ("lam", parse_float_in(*controls.LAMBDA_RANGE)),
        "it": ("iterations", parse_int_in(*controls.ITERATIONS_RANGE)),
        "reg": ("regularization", parse_choice("plain", "weighted")),
        "bias": ("biases", parse_bool),
        "seed": ("seed", parse_int_in(*controls.SEED_RANGE)),
    }
)
EXTRA_PARAMS.update(
    {
        "split": ("split", parse_choice("random", "per_user", "by_time", "none")),
        "frac": ("fraction", parse_float_in(*controls.FRACTION_RANGE)),
        "hold": ("n_per_user", parse_int_in(*controls.N_PER_USER_RANGE)),
        "stop": ("stopping", parse_choice("fixed", "tolerance", "patience")),
        "tol": ("tol", parse_float_in(*controls.TOLERANCE_RANGE)),
        "pat": ("patience", parse_int_in(*controls.PATIENCE_RANGE)),
        "damp": ("damping", parse_float_in(*controls.DAMPING_RANGE)),
    }
)
PAGE_CHOICES.update(
    {
        "update": {
            "side": ("update_side", parse_choice("users", "items")),
            "who": ("", parse_text),  # update_user or update_item, by side (see below)
            "iter": ("update_iteration", parse_int_or(*controls.UPDATE_ITERATION_RANGE, "next")),
            "step": ("update_step", parse_int_in(*controls.UPDATE_STEP_RANGE)),
        },
        "replay": {"frame": ("replay_frame", parse_int_in(*controls.FRAME_RANGE))},
        "reconstruction": {
            "order": ("recon_order", parse_choice("given", "activity", "leading factor")),
            "n_users": ("recon_n_users", parse_int_in(*controls.SHOWN_RANGE)),
            "n_items": ("recon_n_items", parse_int_in(*controls.SHOWN_RANGE)),
            "also_users": ("recon_users", parse_names),
            "also_items": ("recon_items", parse_names),
        },
        "latent": {
            "colour": ("latent_colour", parse_choice("genre", "mean rating", "popularity")),
            "map": ("latent_fit_on", parse_choice("users and items", "items only")),
            "n": ("latent_n", parse_int_in(*controls.NEIGHBOURS_RANGE)),
            "item": ("latent_item", parse_text),
            "user": ("latent_user", parse_text),
        },
        "experiments": {"section": ("exp_w_section", parse_choice(*EXPERIMENTS))},
        # The talk: which slide (from 1), and the talk itself when it is short (talk_view).
        "talk": {
            "slide": ("talk_slide", parse_int_in(1, MAX_SLIDES)),
            "talk": ("talk_code", parse_text),
            "follow": ("talk_follow", parse_text),  # a speaker view following a talk
        },
    }
)
#: Page choices that name users or items: (page, parameter) -> whose names ("users"/"items";
#: None: the update page's side says).
NAMED_CHOICES: dict[tuple[str, str], str | None] = {
    ("update", "who"): None,
    ("reconstruction", "also_users"): "users",
    ("reconstruction", "also_items"): "items",
    ("latent", "item"): "items",
    ("latent", "user"): "users",
}
#: Parameters that are not settings or page choices.
SCENE_PARAMS = ("page", "data", "gen", "present")


def known_params() -> set[str]:
    """Every parameter some page's link may carry."""
    known = {*SCENE_PARAMS, *MODEL_PARAMS, *EXTRA_PARAMS}
    for choices in PAGE_CHOICES.values():
        known.update(choices)
    return known


# --------------------------------------------------------------------------------- the scene
@dataclass(frozen=True)
class Scene:
    """Everything a link restores. ``choices`` maps session-state keys to values."""

    page: str | None = None
    data: str | None = None  # "sample:<name>" | "synthetic" | "upload:<file>" | "movielens-100k"
    generator: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, Any] = field(default_factory=dict)
    presenter: bool = False


def who_key(side: str | None) -> str:
    """The session key of the followed user or item on the update page."""
    return "update_item" if side == "items" else "update_user"


def encode_scene(
    scene: Scene, *, defaults: Mapping[str, Any], generator_defaults: Mapping[str, Any]
) -> dict[str, str]:
    """The scene as query parameters (strings), in a stable, readable order."""
    params: dict[str, str] = {}
    if scene.page:
        params["page"] = scene.page
    if scene.data:
        params["data"] = scene.data
    if scene.data == "synthetic" and scene.generator:
        parts = [
            f"{name}:{format_value(value)}"
            for name, value in scene.generator.items()
            if name in GENERATOR_ALWAYS or generator_defaults.get(name, object()) != value
        ]
        params["gen"] = ",".join(parts)
    for param, (key, _) in MODEL_PARAMS.items():
        if key in scene.settings:
            params[param] = format_value(scene.settings[key])
    for param, (key, _) in EXTRA_PARAMS.items():
        if key in scene.settings and scene.settings[key] != defaults.get(key):
            params[param] = format_value(scene.settings[key])
    for param, (key, _) in PAGE_CHOICES.get(scene.page or "", {}).items():
        if param == "who":
            key = who_key(scene.choices.get("update_side"))
        value = scene.choices.get(key)
        if value is not None and not (isinstance(value, (list, tuple)) and not value):
            params[param] = format_value(value)  # an empty list is the default: left out
    if scene.presenter:
        params["present"] = "1"
    return params


def decode_scene(params: Mapping[str, Any]) -> tuple[Scene, list[str]]:
    """A scene from query parameters, and a note for every value that could not be used.

    A parameter this app does not read and a value out of its range are dropped (the default
    stays) with a note each: the rest of the link still applies.
    """
    flat = {key: (value[-1] if isinstance(value, list) else value) for key, value in params.items()}
    known = known_params()
    problems = [
        f"parameter {name!r} is not one this app reads, so it was ignored"
        for name in flat
        if name not in known
    ]

    def parsed(param: str, parser: Callable[[str], Any]) -> Any:
        try:
            return parser(str(flat[param]))
        except (ValueError, TypeError) as error:
            problems.append(f"{param}={flat[param]!r} was ignored ({error})")
            return None

    page = flat.get("page") or None
    data = flat.get("data") or None
    if data is not None and not (
        data.startswith(("sample:", "upload:", "model:", "model-upload:"))
        or data in ("synthetic", "movielens-100k")
    ):
        problems.append(
            f"data={data!r} was ignored (expected sample:<name>, synthetic, upload:<file>, "
            "model:<directory> or movielens-100k)"
        )
        data = None
    generator = None
    if data == "synthetic":
        generator = {}
        for part in str(flat.get("gen", "")).split(","):
            if not part.strip():
                continue
            name, sep, text = part.partition(":")
            name = name.strip()
            try:
                if not sep:
                    raise ValueError("expected name:value")
                if name not in GENERATOR_PARAMS:
                    raise ValueError(f"the generator's settings are {', '.join(GENERATOR_PARAMS)}")
                generator[name] = GENERATOR_PARAMS[name](text.strip())
            except ValueError as error:
                problems.append(f"generator setting {part!r} was ignored ({error})")
    settings = {}
    for param, (key, parser) in {**MODEL_PARAMS, **EXTRA_PARAMS}.items():
        if param in flat:
            value = parsed(param, parser)
            if value is not None:
                settings[key] = value
    choices = {}
    page_choices = PAGE_CHOICES.get(page or "", {})
    side = None
    if "side" in page_choices and "side" in flat:
        side = parsed("side", page_choices["side"][1])
    for param, (key, parser) in page_choices.items():
        if param not in flat:
            continue
        if param == "who":
            key = who_key(side)
        value = side if param == "side" else parsed(param, parser)
        if value is not None:
            choices[key] = value
    presenter = False
    if "present" in flat:
        presenter = bool(parsed("present", parse_bool))
    scene = Scene(
        page=page,
        data=data,
        generator=generator,
        settings=settings,
        choices=choices,
        presenter=presenter,
    )
    return scene, problems


def drop_unknown_names(
    scene: Scene, user_names: Iterable[Any], item_names: Iterable[Any]
) -> tuple[Scene, list[str]]:
    """The scene without the users and items that these data do not have, and a note for each
    parameter that named one (the page then shows its default choice)."""
    page = scene.page or ""
    known = {"users": {str(n) for n in user_names}, "items": {str(n) for n in item_names}}
    choices = dict(scene.choices)
    problems = []
    for (owner, param), side in NAMED_CHOICES.items():
        if owner != page:
            continue
        key = PAGE_CHOICES[page][param][0]
        if side is None:  # the update page: its side parameter says whose name it is
            side = choices.get("update_side") or "users"
            key = who_key(side)
        if key not in choices:
            continue
        value = choices[key]
        wanted = value if isinstance(value, list) else [value]
        missing = [name for name in wanted if str(name) not in known[side]]
        if not missing:
            continue
        whom = "user" if side == "users" else "item"
        named = ", ".join(repr(name) for name in missing)
        problems.append(
            f"{param}={format_value(value)!r} was ignored (these data have no {whom} {named})"
        )
        if isinstance(value, list):
            choices[key] = [name for name in value if name not in missing]
        else:
            del choices[key]
    return replace(scene, choices=choices), problems


def generator_defaults() -> dict[str, Any]:
    """``ac.synthetic``'s defaults (a generator setting equal to its default is not written)."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(ac.synthetic).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    if isinstance(defaults.get("scale"), tuple):
        defaults["scale"] = tuple(float(v) for v in defaults["scale"])
    return defaults


def generator_settings(truth: Any) -> dict[str, Any] | None:
    """The generator's settings of a synthetic dataset (``SyntheticData.settings``)."""
    settings = getattr(truth, "settings", None)
    if not settings:
        return None
    out = dict(settings)
    if isinstance(out.get("scale"), list):
        out["scale"] = tuple(float(v) for v in out["scale"])
    return out
