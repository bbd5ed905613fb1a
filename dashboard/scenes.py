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
#: Add yourself's stars in a link (the widget holds 0 to 4).
STARS_RANGE = (1, 5)
#: The session key under which a scene carries Add yourself's star ratings ({item name: stars});
#: ``scene_url`` moves them to and from the star widgets' own keys (``stars_key``).
STARS_CHOICE = "you_stars"
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


def parse_one_of(options: Iterable[Any]) -> Callable[[str], Any]:
    """A parser of one of the numbers ``options`` (a select slider's or radio's options)."""
    offered = list(options)

    def parse(text: str) -> Any:
        try:
            value = parse_float(text)
        except (ValueError, OverflowError):
            value = None
        for option in offered:
            if value is not None and option is not None and float(option) == value:
                return option
        raise ValueError(f"expected one of {', '.join(_shown(o) for o in offered)}, got {text!r}")

    return parse


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
    if isinstance(value, Mapping):  # star ratings: name:stars pairs
        return LIST_SEPARATOR.join(
            _escape_list_item(f"{k}:{format_value(v)}") for k, v in value.items()
        )
    return str(value)


def parse_list_of(parser: Callable[[str], Any]) -> Callable[[str], list]:
    """A list of values joined by ``~`` ("1~2~4"), each read by ``parser``."""

    def parse(text: str) -> list:
        return [parser(part) for part in parse_names(text)]

    return parse


def parse_span_in(low: int, high: int) -> Callable[[str], tuple[int, int]]:
    """Two whole numbers ``a~b`` (a range slider) with ``low <= a <= b <= high``."""
    number = parse_int_in(low, high)

    def parse(text: str) -> tuple[int, int]:
        parts = str(text).split(LIST_SEPARATOR)
        try:
            if len(parts) != 2:
                raise ValueError
            first, last = (number(part) for part in parts)
            if first > last:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"expected two whole numbers a~b with {_shown(low)} ≤ a ≤ b ≤ {_shown(high)}, "
                f"got {text!r}"
            ) from None
        return (first, last)

    return parse


def parse_stars(text: str) -> dict[str, int]:
    """Star ratings from one URL value: "Heat:5~Up:1" -> {"Heat": 5, "Up": 1} (1 to 5 stars)."""
    stars = parse_int_in(*STARS_RANGE)
    rated: dict[str, int] = {}
    for part in parse_names(text):
        name, sep, value = part.rpartition(":")
        try:
            if not sep or not name:
                raise ValueError
            rated[name] = stars(value)
        except ValueError:
            raise ValueError(
                f"expected item:stars pairs joined by ~ with stars from {STARS_RANGE[0]} to "
                f"{STARS_RANGE[1]}, got {text!r}"
            ) from None
    return rated


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


#: A rating value, or "none" (every rating counts as an interaction).
rating_value = parse_optional(parse_float_in(*controls.RATING_VALUE_RANGE))
#: Page choices for which None is a value of its own, written "none" in the link.
NONE_CHOICES = ("imp_like", "implicit_interactions")


def _experiment_choices() -> dict[str, tuple[str, Callable[[str], Any]]]:
    """Each experiment's widgets (``exp_w_<section>_<name>``) in the Experiments page's link."""
    k = parse_int_in(*controls.K_RANGE)
    lam = parse_one_of(controls.EXPERIMENT_LAMBDAS)
    reg = parse_choice("plain", "weighted")
    choices = {
        "compare": {
            "k": k,
            "lam": lam,
            "reg": reg,
            "biases": parse_bool,
            "budget": parse_one_of(controls.COMPARE_SECONDS),
            "x": parse_choice("seconds", "step"),
            "logx": parse_bool,
        },
        "missing": {"k": k, "lam": lam, "clipped": parse_bool},
        "sweep": {
            "ks": parse_list_of(k),
            "lams": parse_list_of(lam),
            "iter": parse_int_in(*controls.SWEEP_ITERATIONS_RANGE),
            "reg": reg,
            "biases": parse_bool,
            "at_k": k,
            "at_lam": lam,
        },
        "recovery": {
            "ks": parse_span_in(*controls.K_RANGE),
            "lam": lam,
            "starts": parse_int_in(*controls.RECOVERY_STARTS_RANGE),
            "fraction": parse_one_of(controls.RECOVERY_FRACTIONS),
        },
        "implicit": {
            "interactions": rating_value,
            "n": parse_one_of(controls.TOP_N),
            "k": k,
            "lam": lam,
            "alpha": parse_one_of(controls.ALPHAS),
            "relevant": parse_choice("interactions", "any"),
        },
        "baselines": {
            "k": k,
            "lam": lam,
            "reg": reg,
            "bias_lam": parse_one_of(controls.BIAS_LAMBDAS),
        },
    }
    out = {
        f"{section}_{name}": (f"exp_w_{section}_{name}", parser)
        for section, widgets in choices.items()
        for name, parser in widgets.items()
    }
    # The implicit experiment's "because you liked" (a user, one of their recommendations).
    out["implicit_user"] = ("exp_implicit_user", parse_int_in(*controls.INDEX_RANGE))
    out["implicit_item"] = ("exp_implicit_item", parse_int_in(*controls.INDEX_RANGE))
    return out


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
            "sim": ("latent_similarity", parse_choice("cosine", "shrunk")),
            "map": ("latent_fit_on", parse_choice("users and items", "items only")),
            "n": ("latent_n", parse_int_in(*controls.NEIGHBOURS_RANGE)),
            "item": ("latent_item", parse_text),
            "user": ("latent_user", parse_text),
        },
        "home": {"seeds_k": ("theory_w_seeds_k", parse_int_in(*controls.SEEDS_K_RANGE))},
        "data": {"order": ("data_w_order", parse_choice("given", "activity"))},
        "train": {
            # Implicit mode and its model's settings (the explicit model's are the settings).
            "mode": ("train_imp_w_mode", parse_choice("explicit", "implicit")),
            "imp_like": ("train_imp_w_interactions", rating_value),
            "imp_k": ("train_imp_w_k", parse_int_in(*controls.K_RANGE)),
            "imp_lam": ("train_imp_w_lam", parse_one_of(controls.EXPERIMENT_LAMBDAS)),
            "imp_alpha": ("train_imp_w_alpha", parse_one_of(controls.ALPHAS)),
            "imp_it": ("train_imp_w_iterations", parse_int_in(*controls.IMPLICIT_ITERATIONS_RANGE)),
            "imp_solver": ("train_imp_w_solver", parse_choice("cholesky", "cg")),
            "imp_n": ("train_imp_w_n", parse_one_of(controls.TOP_N)),
            "imp_user": ("train_imp_user", parse_int_in(*controls.INDEX_RANGE)),
            "imp_item": ("train_imp_item", parse_int_in(*controls.INDEX_RANGE)),
        },
        "add_yourself": {
            "n": ("you_n_shown", parse_int_in(*controls.YOU_SHOWN_RANGE)),
            "stars": (STARS_CHOICE, parse_stars),
        },
        "experiments": {
            "section": ("exp_w_section", parse_choice(*EXPERIMENTS)),
            **_experiment_choices(),
        },
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
    ("add_yourself", "stars"): "items",
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


def stars_key(fingerprint: str, item: int) -> str:
    """The session key of Add yourself's star widget for ``item`` (0 to 4 stars, or None) on
    the data ``fingerprint`` (ratings given on other data are not shown on these)."""
    return f"you_stars_{fingerprint[:10]}_{item}"


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
        if value is None and param in NONE_CHOICES and key in scene.choices:
            params[param] = "none"  # a choice of its own (every rating counts)
        elif value is not None and not (isinstance(value, (list, tuple)) and not value):
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
        noted = len(problems)
        value = side if param == "side" else parsed(param, parser)
        if value is not None or (param in NONE_CHOICES and len(problems) == noted):
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
        wanted = list(value) if isinstance(value, (list, dict)) else [value]
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
        elif isinstance(value, dict):
            choices[key] = {name: v for name, v in value.items() if name not in missing}
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
