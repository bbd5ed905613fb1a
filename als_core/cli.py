"""The command line: train where the data lives, explore the result in the dashboard.

    python -m als_core fit RATINGS --k 50 --lam 0.05 --iterations 15 --out DIR
    python -m als_core fit RATINGS --tune --tune-seconds 60 --out DIR
    python -m als_core evaluate DIR RATINGS
    python -m als_core recommend DIR --user ID --n 10

Progress and notes go to stderr, results to stdout. Bad input ends with one line
``python -m als_core: error: ...`` on stderr (``als-core: error: ...`` from the installed
command) and exit code 1 (2 for a wrong command line), never a traceback (``--debug`` shows
it). ``main(argv)`` runs the same thing in-process and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._choices import DEFAULT_DUPLICATES, DUPLICATE_POLICIES, REGULARIZATIONS
from .errors import (
    ColumnMappingError,
    DuplicateRatingsError,
    InvalidRowsError,
    NonFiniteFactorsError,
    RatingsError,
)

if TYPE_CHECKING:  # annotations only: the commands import what they use when they run
    import numpy as np
    import pandas as pd

    from .als import ALS, FitEvent
    from .ratings import DuplicateNote, Ratings
    from .tune import TuneEvent, TuneResult

#: How the command is named in its usage, examples and errors: as a module, or as the console
#: script that ``pip install`` makes (pyproject.toml's [project.scripts]).
PROG = "python -m als_core"
SCRIPT = "als-core"
TUNE_SECONDS = 60.0
#: The model options --tune chooses (giving one as well would be ignored, so it is refused).
TUNED_OPTIONS = (
    "--k", "--lam", "--iterations", "--regularization", "--damping", "--biases", "--no-biases",
)  # fmt: skip
ENGINES = ("numpy", "spark")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
# For Parquet input without --user-col/--item-col/--rating-col: the first column whose name,
# lower-cased without punctuation, is one of these (the CSV reader knows many more).
_PARQUET_NAMES = {
    "user": ("user", "userid", "uid", "users", "customerid", "reviewerid"),
    "item": ("item", "itemid", "iid", "items", "movieid", "productid", "bookid", "isbn"),
    "rating": ("rating", "ratings", "score", "stars", "value", "rate"),
}


class CliError(Exception):
    """A problem with what the user asked for; the message is shown as it is."""


# --------------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``prog`` names the command in usage and error lines; by default ``als-core`` when run as
    the installed console script, else ``python -m als_core``."""
    prog = prog or program_name()
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a wrong command line (argparse already printed)
        return int(exc.code or 0)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... recommend | head -3`
        return 0
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: error: {_one_line(_describe(exc))}", file=sys.stderr)
        return 1


def program_name() -> str:
    """``als-core`` when this process is the console script (its file is named so, as
    argparse's own default reads it), else ``python -m als_core``."""
    started_as = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return SCRIPT if started_as.lower().removesuffix(".exe") == SCRIPT else PROG


def _describe(exc: Exception) -> str:
    from .model_io import ModelDirError

    expected = (CliError, RatingsError, ModelDirError, ValueError, IndexError, OSError)
    if isinstance(exc, expected) or type(exc).__name__ in (
        "SparkUnavailableError",
        "SparkFitError",
    ):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (rerun with --debug to see the traceback)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (usage stays available through --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's line breaks; shows a default only where there is a real one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return text
        if "%(default)" in text:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argparse parser for all subcommands (exposed for tests and documentation), naming
    itself ``prog``."""
    parser = _Parser(
        prog=prog,
        description=(
            "Train ALS (alternating least squares) on a ratings file, save the model as a "
            "directory of open files (Parquet + JSON) that the dashboard and "
            "als_core.load_model open, and evaluate or query it."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} fit ratings.csv --k 50 --lam 0.05 --iterations 15 --out model\n"
            f"  {prog} fit ratings.csv --tune --validation 0.2 --out model\n"
            f"  {prog} fit ratings.parquet --engine spark --regularization weighted --out m2\n"
            f"  {prog} evaluate model heldout.csv\n"
            f"  {prog} recommend model --user 42 --n 10\n"
            f"\nRun `{prog} COMMAND --help` for the options of each command."
        ),
        formatter_class=_Formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_fit(commands)
    _add_evaluate(commands)
    _add_recommend(commands)
    return parser


def _add_fit(commands: Any) -> None:
    p = commands.add_parser(
        "fit",
        help="train a model on a ratings file and save it to a directory",
        description=(
            "Read RATINGS (CSV or Parquet), train ALS, print one line per iteration to\n"
            "stderr, and write a model directory of Parquet and JSON files (described in\n"
            "the README.md written into it)."
        ),
        epilog=(
            "engines:\n"
            "  numpy  exact ALS in this process (every setting supported)\n"
            "  spark  Apache Spark MLlib's ALS (pip install -r requirements-spark.txt; needs\n"
            "         Java 17+). Spark's regParam is the weighted λ, so only\n"
            "         --regularization weighted works (the default for this engine). With\n"
            "         --biases, μ and the biases are fitted first (ridge --bias-lam) and Spark\n"
            "         factors the residuals. --tol and --patience are not supported.\n"
            "         Spark reports no per-iteration progress: one line at the end."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument(
        "ratings",
        metavar="RATINGS",
        help="ratings file: CSV (any dialect the "
        "dashboard reads) or Parquet (.parquet), one row per (user, item, rating)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="model directory to write (must not exist or be empty)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace DIR if it already holds a saved model"
    )
    model = p.add_argument_group("model")
    model.add_argument("--k", type=_positive_int, default=10, help="rank of the factorisation")
    model.add_argument(
        "--lam", type=_non_negative_float, default=0.1, help="regularisation strength λ"
    )
    model.add_argument(
        "--iterations",
        type=_positive_int,
        default=15,
        help="maximum number of iterations (users then items)",
    )
    model.add_argument(
        "--regularization",
        choices=REGULARIZATIONS,
        default=None,
        help="plain: λ(Σ‖x_u‖² + Σ‖y_i‖²) as in the article; weighted: λ·n per "
        "user/item (ALS-WR, Spark's). Default: plain (numpy), weighted (spark)",
    )
    model.add_argument(
        "--damping",
        type=_non_negative_float,
        default=0.0,
        metavar="N0",
        help="weighted regularisation only: each user's and item's ridge is λ·(n + N0) "
        "instead of λ·n, so rows with few ratings keep a firmer ridge (ALS(damping=N0)); "
        "0 is Spark's ALS-WR",
    )
    model.add_argument(
        "--biases",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fit μ + b_u + b_i + x_u·y_i instead of x_u·y_i",
    )
    model.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="floating-point type of the factors and solves",
    )
    model.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of the initial factors and of the validation split",
    )
    model.add_argument(
        "--tol",
        type=_non_negative_float,
        default=None,
        help="stop when the objective changes by less than this (relative)",
    )
    model.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        help="stop after this many iterations without a better validation RMSE "
        "(needs --validation) and keep the best",
    )
    model.add_argument(
        "--validation",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="hold out this share of the ratings (random) to report "
        "validation RMSE; 0 trains on everything",
    )
    tuning = p.add_argument_group("finding settings")
    tuning.add_argument(
        "--tune",
        action="store_true",
        help="choose k, λ, regularization, damping, biases and iterations with "
        "als_core.tune on the training ratings (never on the --validation share), "
        "print them and the table of fits, then fit with them",
    )
    tuning.add_argument(
        "--tune-seconds",
        type=_positive_float,
        default=None,
        metavar="N",
        help=f"time budget of --tune in seconds (default {TUNE_SECONDS:g})",
    )
    engine = p.add_argument_group("engine")
    engine.add_argument("--engine", choices=ENGINES, default="numpy", help="what trains")
    engine.add_argument(
        "--master",
        default=None,
        metavar="URL",
        help="Spark master: local[N] (threads here) or a cluster URL such as "
        "spark://host:7077 (default local[2])",
    )
    engine.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting, repeatable (e.g. spark.driver.memory=8g)",
    )
    engine.add_argument(
        "--spark-blocks",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of user and item blocks Spark splits the data into (Spark's default "
        "is 10; about the number of cores in the cluster is a good start)",
    )
    engine.add_argument(
        "--bias-lam",
        type=_non_negative_float,
        default=5.0,
        help="spark with --biases: ridge of the bias pre-fit (ac.BiasOnly)",
    )
    _add_reader_options(p)
    p.add_argument(
        "--items",
        default=None,
        metavar="FILE",
        help="item names to keep with the model: MovieLens movies.csv or u.item, goodbooks "
        "books.csv, Book-Crossing BX-Books.csv, or any table of id and title (the id column "
        "is the one matching the ratings' item ids; genres become categories)",
    )
    p.add_argument(
        "--users",
        default=None,
        metavar="FILE",
        help="user names to keep with the model: any table of id and name (the id column "
        "is the one matching the ratings' user ids)",
    )
    _add_common(p)
    p.set_defaults(run=cmd_fit)


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser(
        "evaluate",
        help="RMSE and MAE of a saved model on a ratings file",
        description=(
            "Score a saved model on RATINGS (CSV or Parquet). Users and items are matched\n"
            "to the model by their original ids; ratings of ids the model has never seen\n"
            "are left out and counted."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("model", metavar="DIR", help="model directory written by fit")
    p.add_argument("ratings", metavar="RATINGS", help="ratings file to score (CSV or Parquet)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    _add_reader_options(p)
    _add_common(p)
    p.set_defaults(run=cmd_evaluate)


def _add_recommend(commands: Any) -> None:
    p = commands.add_parser(
        "recommend",
        help="top-N items for one user of a saved model",
        description=(
            "Print the N items with the highest predicted score for a user, leaving out\n"
            "the items the user rated in training."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("model", metavar="DIR", help="model directory written by fit")
    p.add_argument("--user", required=True, metavar="ID", help="the user's original id")
    p.add_argument("--n", type=_positive_int, default=10, help="how many items")
    p.add_argument(
        "--include-seen", action="store_true", help="also rank the items the user rated in training"
    )
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    _add_common(p)
    p.set_defaults(run=cmd_recommend)


def _add_reader_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reading the ratings file")
    g.add_argument(
        "--user-col",
        default=None,
        metavar="NAME",
        help="column of user ids (header name, or 0-based position for CSV); "
        "detected when not given",
    )
    g.add_argument("--item-col", default=None, metavar="NAME", help="column of item ids")
    g.add_argument("--rating-col", default=None, metavar="NAME", help="column of ratings")
    g.add_argument(
        "--duplicates",
        choices=DUPLICATE_POLICIES,
        default=DEFAULT_DUPLICATES,
        help="a (user, item) pair rated more than once keeps the mean of its ratings, the "
        "first or the last; error refuses the file",
    )
    g.add_argument(
        "--drop-invalid",
        action="store_true",
        help="drop rows with a missing or non-numeric rating instead of stopping",
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="print no progress to stderr")
    p.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )


def _positive_int(text: str) -> int:
    value = _parse(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = _parse(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _parse(float, text, "a number")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _parse(float, text, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _parse(float, text, "a number")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _parse(kind: Callable[[str], Any], text: str, what: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


# --------------------------------------------------------------------------------- reading
def read_ratings_file(
    path: str | Path,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    duplicates: str = DEFAULT_DUPLICATES,
    drop_invalid: bool = False,
) -> tuple[Ratings, DuplicateNote | None]:
    """Read a CSV (through ``ac.read_ratings``: same detection and errors as the dashboard)
    or Parquet ratings file, and say which (user, item) pairs were merged (None: none).
    Raises ``RatingsError`` with what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise RatingsError(f"no ratings file at {str(p)!r}; check the path")
    if _is_parquet(p):
        return _read_parquet_ratings(
            p,
            columns={"user": user_col, "item": item_col, "rating": rating_col},
            duplicates=duplicates,
            drop_invalid=drop_invalid,
        )
    return _read_csv_ratings(
        p,
        columns={"user": user_col, "item": item_col, "rating": rating_col},
        duplicates=duplicates,
        drop_invalid=drop_invalid,
    )


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def _read_csv_ratings(
    path: Path, *, columns: dict[str, str | None], duplicates: str, drop_invalid: bool
) -> tuple[Ratings, DuplicateNote | None]:
    from .io import MAX_BYTES, read_ratings_report

    mapping: dict[str, str | int] = {
        role: int(name) if name.isdigit() else name
        for role, name in columns.items()
        if name is not None
    }
    # The dashboard caps uploads; a file on disk is limited only by memory.
    limit = max(MAX_BYTES, path.stat().st_size + 1)
    ratings, report = read_ratings_report(
        path,
        columns=mapping or None,
        duplicates=duplicates,
        drop_invalid=drop_invalid,
        max_bytes=limit,
    )
    return ratings, report.duplicates


def _read_parquet_ratings(
    path: Path, *, columns: dict[str, str | None], duplicates: str, drop_invalid: bool
) -> tuple[Ratings, DuplicateNote | None]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .ratings import Ratings, duplicate_note_of

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise RatingsError(f"{path.name} is not a readable Parquet file: {exc}") from exc
    chosen = {role: _named_column(role, given, names) for role, given in columns.items()}
    try:
        frame = pq.read_table(path, columns=list(chosen.values())).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise RatingsError(f"could not read {path.name}: {exc}") from exc
    if drop_invalid:
        values = pd.to_numeric(frame[chosen["rating"]], errors="coerce")
        keep = np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        keep &= frame[chosen["user"]].notna().to_numpy()
        keep &= frame[chosen["item"]].notna().to_numpy()
        frame = frame.loc[keep]
    if frame.empty:
        raise RatingsError(f"{path.name} holds no ratings")
    note = duplicate_note_of(frame.reset_index(drop=True), **chosen, policy=duplicates)
    return Ratings.from_frame(frame, **chosen, duplicates=duplicates), note


def _named_column(role: str, given: str | None, names: list[str]) -> str:
    if given is not None:
        if given in names:
            return given
        if given.isdigit() and int(given) < len(names):
            return names[int(given)]
        raise RatingsError(f"no column {given!r} in the file; it has {names}")
    normalised = {"".join(ch for ch in n.lower() if ch.isalnum()): n for n in reversed(names)}
    for candidate in _PARQUET_NAMES[role]:
        if candidate in normalised:
            return normalised[candidate]
    raise RatingsError(
        f"cannot tell which column holds the {role}s; the file has {names}. "
        f"Name it with --{role}-col"
    )


# --------------------------------------------------------------------------------- fit
def cmd_fit(args: argparse.Namespace) -> int:
    from . import _kernel
    from .model_io import check_model_target, save_model
    from .split import split

    log = _Log(quiet=args.quiet)
    if args.engine != "spark" and (args.master or args.spark_conf or args.spark_blocks):
        raise CliError("--master, --spark-conf and --spark-blocks need --engine spark")
    # Everything that can be checked without the data is checked before reading it.
    if args.patience is not None and args.validation == 0:
        raise CliError("--patience needs a validation set: add --validation FRACTION")
    _check_tune_options(args)
    _check_damping(args)
    check_model_target(Path(args.out), overwrite=args.overwrite)
    for kind, path in (("item", args.items), ("user", args.users)):
        if path is not None and not Path(path).is_file():
            raise CliError(f"no {kind} names file at {path!r}; check the path")
    model = _make_model(args)
    if args.engine == "spark":
        model.check_spark_settings()
    else:
        _kernel.prepare()  # a fresh machine compiles the kernel while the data is read
    ratings = _read_for(args, log)
    log(
        f"read {args.ratings}: {ratings.nnz:,} ratings by {ratings.n_users:,} users of "
        f"{ratings.n_items:,} items"
    )
    if args.items is not None:
        ratings = _with_names(ratings, args.items, log, kind="item")
    if args.users is not None:
        ratings = _with_names(ratings, args.users, log, kind="user")
    train, valid = ratings, None
    if args.validation > 0:
        parts = split(ratings, method="random", fraction=args.validation, seed=args.seed)
        train, valid = parts.train, parts.validation
        log(f"validation: {parts.report()}")
    tuned = None
    if args.tune:
        model, tuned = _tuned_model(args, train, log)
    else:
        model = _make_model(args)
    log(
        f"fit: {args.engine} engine, k={model.k}, λ={model.lam} ({model.regularization}"
        f"{f', damping {model.damping:g}' if model.damping else ''}), "
        f"biases {'on' if model.biases else 'off'}, up to {model.iterations} iterations"
    )
    if args.engine == "spark":
        log(f"spark: master {model.master}; Spark reports when all iterations are done")
    try:
        model.fit(train, validation=valid, callback=_progress(log, engine=args.engine))
    except NonFiniteFactorsError as exc:
        raise CliError(
            "the fit went numerically unstable (NaN or infinite factors), so nothing was "
            "saved; try a larger --lam, --dtype float64, or ratings on a smaller scale"
        ) from exc
    run = {
        "command": "fit",
        "input": str(Path(args.ratings).resolve()),
        "items": None if args.items is None else str(Path(args.items).resolve()),
        "users": None if args.users is None else str(Path(args.users).resolve()),
        "engine": args.engine,
        "validation_fraction": args.validation,
        "validation_ratings": 0 if valid is None else valid.nnz,
        "seed": args.seed,
        "final_train_rmse": float(model.history_["train_rmse"].iloc[-1])
        if len(model.history_)
        else None,
        "final_validation_rmse": _final_validation(model),
        "argv": args.argv,
    }
    if tuned is not None:
        run["tune"] = _tune_record(tuned)
    if args.engine == "spark":
        run.update(
            master=model.master,
            spark_conf=model.spark_conf,
            spark_blocks=args.spark_blocks,
            bias_lam=args.bias_lam,
        )
    out = save_model(model, train, args.out, settings=run, overwrite=args.overwrite)
    log(
        f"stopped after {model.n_iter_} iteration(s) ({model.stop_reason_}) in "
        f"{model.fit_seconds_:.1f} s"
    )
    print(f"model saved to {out}")
    return 0


def _check_damping(args: argparse.Namespace) -> None:
    if not args.damping:
        return
    if args.engine == "spark":
        raise CliError("--damping is not supported by --engine spark (its ridge is λ·n): drop it")
    if (args.regularization or "plain") != "weighted":
        raise CliError(
            "--damping applies to weighted regularisation only (with plain every ridge is λ "
            "already): add --regularization weighted, or drop --damping"
        )


def _check_tune_options(args: argparse.Namespace) -> None:
    if not args.tune:
        if args.tune_seconds is not None:
            raise CliError("--tune-seconds needs --tune")
        return
    if args.engine != "numpy":
        raise CliError("--tune searches with the in-process engine; drop --engine spark")
    given = [o for o in TUNED_OPTIONS if any(a == o or a.startswith(o + "=") for a in args.argv)]
    if given:
        raise CliError(f"--tune chooses {', '.join(given)} itself: leave them out, or drop --tune")


def _tuned_model(args: argparse.Namespace, train: Ratings, log: _Log) -> tuple[ALS, TuneResult]:
    """Settings from ``tune`` on ``train`` (the held-out share never reaches it), printed with
    the table of fits; the model to fit with them (plus --tol, --patience, --dtype)."""
    import numpy as np

    from .als import ALS
    from .tune import describe_params, tune

    budget = TUNE_SECONDS if args.tune_seconds is None else args.tune_seconds
    log(f"tune: searching settings on {train.nnz:,} training ratings for up to {budget:g} s")

    def report(event: TuneEvent) -> None:
        if event.kind == "fit":
            log(f"tune: {event.message}")

    result = tune(train, seed=args.seed, budget_seconds=budget, callback=report)
    cut = ", cut short by --tune-seconds" if result.truncated else ""
    print(
        f"tuned settings: {describe_params(result.params)} (validation RMSE "
        f"{result.validation_rmse:.4f}; {len(result.table)} fits in {result.seconds:.0f} s{cut})"
    )
    print(_tune_table_text(result.table))
    model = ALS(
        **result.params, tol=args.tol, patience=args.patience, dtype=np.dtype(args.dtype).type
    )
    return model, result


def _tune_table_text(table: pd.DataFrame) -> str:
    columns = ["stage", "k", "regularization", "lam", "damping", "biases", "iterations"]
    shown = table[[*columns, "validation_rmse", "status", "chosen"]].copy()
    shown["chosen"] = shown["chosen"].map({True: "<-", False: ""})
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def _tune_record(result: TuneResult) -> dict[str, Any]:
    """What the model directory keeps of the search (JSON-friendly)."""
    return {
        "params": result.params,
        "validation_rmse": result.validation_rmse,
        "truncated": result.truncated,
        "seconds": result.seconds,
        "table": json.loads(result.table.to_json(orient="records")),
    }


def _read_for(args: argparse.Namespace, log: _Log) -> Ratings:
    try:
        ratings, note = read_ratings_file(
            args.ratings,
            user_col=args.user_col,
            item_col=args.item_col,
            rating_col=args.rating_col,
            duplicates=args.duplicates,
            drop_invalid=args.drop_invalid,
        )
    except DuplicateRatingsError as exc:
        raise CliError(
            f"cannot read {args.ratings}: {exc.note.sentence()}; choose which rating to keep "
            "with --duplicates mean, first or last"
        ) from exc
    except ColumnMappingError as exc:
        proposal = exc.proposal
        message = f"cannot read {args.ratings}: {exc}"
        if proposal is not None and proposal.complete:
            flags = " ".join(
                f"--{role}-col {proposal.columns[role]}" for role in ("user", "item", "rating")
            )
            message += f" (to read it that way: {flags})"
        else:
            message += " (on the command line: --user-col, --item-col, --rating-col)"
        raise CliError(message) from exc
    except InvalidRowsError as exc:
        raise CliError(
            f"cannot read {args.ratings}: {exc} (skip them with --drop-invalid)"
        ) from exc
    except RatingsError as exc:
        message = f"cannot read {args.ratings}: {exc}"
        if "columns=" in message:
            message += " (on the command line: --user-col, --item-col, --rating-col)"
        raise CliError(message) from exc
    if note is not None:
        log(f"note: {note.sentence()} (choose with --duplicates mean|first|last|error)")
    return ratings


def _with_names(ratings: Ratings, path: str, log: _Log, *, kind: str) -> Ratings:
    """``ratings`` with the item (``kind="item"``) or user names read from ``path``."""
    from .names import read_item_names, read_user_names

    try:
        if kind == "item":
            names = read_item_names(path, item_ids=ratings.item_ids, max_bytes=2**40)
        else:
            names = read_user_names(path, user_ids=ratings.user_ids, max_bytes=2**40)
    except RatingsError as exc:
        raise CliError(f"cannot read {kind} names from {path}: {exc}") from exc
    report = names.report
    what = f"{'names' if kind == 'user' else 'titles'} from {report.title_column!r}" + (
        f", categories from {report.category_column}" if report.category_column else ""
    )
    extra = f"; {report.unmatched:,} name(s) match no rated {kind}" if report.unmatched else ""
    total = ratings.n_items if kind == "item" else ratings.n_users
    log(
        f"names: {report.matched:,} of {total:,} {kind}s named from {Path(path).name} "
        f"({what}){extra}"
    )
    for warning in report.warnings:
        log(f"note: {warning}")
    if kind == "item":
        return ratings.with_item_names(names)
    return ratings.with_user_names(names)


def _make_model(args: argparse.Namespace) -> ALS:
    import numpy as np

    from .als import ALS

    common = {
        "k": args.k,
        "lam": args.lam,
        "iterations": args.iterations,
        "biases": args.biases,
        "tol": args.tol,
        "patience": args.patience,
        "dtype": np.dtype(args.dtype).type,
        "seed": args.seed,
    }
    if args.engine == "numpy":
        return ALS(regularization=args.regularization or "plain", damping=args.damping, **common)
    from .spark_engine import DEFAULT_MASTER, SparkALS  # pyspark itself loads only in fit

    return SparkALS(
        regularization=args.regularization or "weighted",
        master=args.master or DEFAULT_MASTER,
        spark_conf=_spark_conf(args.spark_conf),
        bias_lam=args.bias_lam,
        num_blocks=args.spark_blocks,
        **common,
    )


def _spark_conf(pairs: list[str]) -> dict[str, str] | None:
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--spark-conf expects KEY=VALUE, got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf or None


def _progress(log: _Log, *, engine: str) -> Callable[[FitEvent], None]:
    def report(event: FitEvent) -> None:
        if engine == "numpy" and event.side != "items":
            return  # one line per iteration, after its second half-step
        parts = [
            f"iteration {event.iteration:>{len(str(event.iterations))}}/{event.iterations}",
            f"objective {event.objective:.6g}",
            f"train RMSE {event.train_rmse:.4f}",
        ]
        if math.isfinite(event.validation_rmse):
            parts.append(f"validation RMSE {event.validation_rmse:.4f}")
        parts.append(f"{event.elapsed:.1f} s")
        log("  ".join(parts))

    return report


def _final_validation(model: ALS) -> float | None:
    """Validation RMSE of the factors that were kept (the best ones when patience stopped)."""
    if model.stop_reason_ == "patience" and model.best_validation_rmse_ is not None:
        return float(model.best_validation_rmse_)
    values = model.history_["validation_rmse"].dropna()
    return float(values.iloc[-1]) if len(values) else None


# --------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .model_io import load_model

    log = _Log(quiet=args.quiet)
    model = load_model(args.model)
    ratings = _read_for(args, log)
    result = evaluate_on(model, ratings)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"RMSE {result['rmse']:.4f}  MAE {result['mae']:.4f}  on {result['n']:,} ratings")
    if result["skipped"]:
        log(_skipped_text(result))
    return 0


def evaluate_on(model: ALS, ratings: Ratings) -> dict[str, Any]:
    """RMSE and MAE of ``model`` on ``ratings`` whose ids are mapped onto the model's by value;
    ratings with an unknown user or item are left out and counted (with a few examples)."""
    from .metrics import mae, rmse

    rows, cols, values = ratings.coo()
    user_pos = match_ids(model.user_ids_, ratings.user_ids)
    item_pos = match_ids(model.item_ids_, ratings.item_ids)
    users, items = user_pos[rows], item_pos[cols]
    known = (users >= 0) & (items >= 0)
    if not known.any():
        raise CliError(
            f"none of the {len(values):,} ratings has a user and an item the model knows; "
            "is this the right file (ids are matched by value, e.g. "
            f"model users {_examples(model.user_ids_)})?"
        )
    pred = model.predict(users[known], items[known])
    return {
        "rmse": rmse(values[known], pred),
        "mae": mae(values[known], pred),
        "n": int(known.sum()),
        "skipped": int((~known).sum()),
        "unknown_users": int((users < 0).sum()),
        "unknown_items": int((items < 0).sum()),
        "unknown_user_examples": _examples(ratings.user_ids[user_pos < 0]),
        "unknown_item_examples": _examples(ratings.item_ids[item_pos < 0]),
    }


def _skipped_text(result: dict[str, Any]) -> str:
    text = f"left out {result['skipped']:,} rating(s) with ids the model does not know: "
    parts = []
    if result["unknown_users"]:
        parts.append(
            f"{result['unknown_users']:,} of unknown users "
            f"(e.g. {', '.join(result['unknown_user_examples'])})"
        )
    if result["unknown_items"]:
        parts.append(
            f"{result['unknown_items']:,} of unknown items "
            f"(e.g. {', '.join(result['unknown_item_examples'])})"
        )
    return text + "; ".join(parts)


def match_ids(known: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Position of each ``query`` id among ``known`` ids, -1 where absent. Ids are compared by
    value; when the two sides have different kinds (numbers vs text), by their text."""
    import numpy as np
    import pandas as pd

    known = np.asarray(known)
    query = np.asarray(query)
    positions = pd.Index(known).get_indexer(query)
    if (positions < 0).any() and _kind(known) != _kind(query):
        positions = pd.Index(known.astype(str)).get_indexer(query.astype(str))
    return positions


def _kind(ids: np.ndarray) -> str:
    import numpy as np

    return "number" if np.issubdtype(ids.dtype, np.number) else "text"


def _examples(ids: np.ndarray, n: int = 3) -> list[str]:
    import numpy as np

    return [str(x) for x in np.asarray(ids)[:n].tolist()]


# --------------------------------------------------------------------------------- recommend
def cmd_recommend(args: argparse.Namespace) -> int:
    import numpy as np

    from .model_io import load_model

    model = load_model(args.model)
    position = match_ids(model.user_ids_, np.array([args.user], dtype=object))[0]
    if position < 0:
        raise CliError(
            f"user {args.user!r} is not in the model ({len(model.user_ids_):,} users, ids "
            f"such as {', '.join(_examples(model.user_ids_))})"
        )
    recs = model.recommend(int(position), n=args.n, exclude_seen=not args.include_seen)
    table = recs[["rank", "item_id", "score"]]
    info = model.train_ratings_.item_info
    if info is not None and "title" in info.columns:  # names kept by fit --items
        titles = info["title"].to_numpy(dtype=object)[recs["item"].to_numpy()]
        table = table.assign(title=[t if isinstance(t, str) else "" for t in titles])
    if args.format == "json":
        print(json.dumps({"user": args.user, "items": _json_rows(table)}))
    elif args.format == "csv":
        print(table.to_csv(index=False), end="")
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _json_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    import numpy as np

    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]


# --------------------------------------------------------------------------------- output
class _Log:
    """Progress lines to stderr (flushed, so they show while a long fit runs)."""

    def __init__(self, *, quiet: bool, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream or sys.stderr, flush=True)
