"""Read ratings files people actually have, and say exactly what was read or what is wrong.

``read_ratings`` accepts a path, bytes or a binary file-like object (Streamlit's UploadedFile is
one) and returns ``Ratings``; ``read_ratings_report`` also returns a ``ReadReport`` saying what
was detected (encoding, separator, header, layout, column mapping) and what was done (rows read,
blank lines, rows dropped, duplicates merged), so a UI can show it and offer overrides;
``inspect_ratings`` does the detection only, on the first lines, and never fails over a column
mapping, so a UI can offer the choices even when reading would fail.

Two layouts:

- *long*: one rating per line, ``user, item, rating[, timestamp]``; columns found by name
  (case and punctuation ignored: userId = user_id = User-ID) or, without a recognised header,
  by position;
- *wide*: a matrix with user ids in the first column, item ids in the header, an empty cell for
  *not rated* (``zero_is_missing=True`` also treats 0 as not rated, as the article does).

Dialects: separators ``,`` ``;`` tab ``|``, runs of spaces and ``::`` (MovieLens 1M), found
from the first lines; UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252/Latin-1;
LF, CRLF or CR; double-quoted fields; decimal commas when the separator is not a comma.

Ids are kept as given: a column of plain integers (no leading zeros) becomes int64, anything
else stays text, so "007" stays "007". Surrounding spaces are trimmed from every field.

Bad input raises ``RatingsError`` only, with what is wrong, where (line, column) and how to fix
it. Line numbers are physical lines of the file (1 = first line); a quoted field spanning lines
is reported as a malformed line.

Speed: parsing runs in pyarrow's C++ CSV reader with every field as text, then vectorised
conversions; there is no Python work per row (1,000,000 rows in well under 2 s, see
``benchmarks/bench_read.py``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import scipy.sparse as sp

from .errors import RatingsError
from .ratings import DUPLICATE_POLICIES, Ratings

MAX_UPLOAD_MB = 200
MAX_BYTES = MAX_UPLOAD_MB * 1024 * 1024

ROLES = ("user", "item", "rating", "timestamp")

# Header names are compared after lower-casing and dropping everything but letters and digits.
_ALIASES: dict[str, frozenset[str]] = {
    "user": frozenset(
        (
            "user", "userid", "users", "uid", "u", "usr", "username", "customer", "customerid",
            "client", "clientid", "member", "memberid", "reviewer", "reviewerid", "rater",
            "raterid", "person", "personid", "viewer", "viewerid", "visitor", "visitorid",
            "account", "accountid", "buyer", "buyerid", "player", "playerid", "student",
            "studentid",
        )
    ),
    "item": frozenset(
        (
            "item", "itemid", "items", "iid", "i", "movie", "movieid", "film", "filmid", "book",
            "bookid", "isbn", "product", "productid", "asin", "sku", "song", "songid", "track",
            "trackid", "artist", "artistid", "album", "albumid", "game", "gameid", "recipe",
            "recipeid", "business", "businessid", "restaurant", "restaurantid", "hotel",
            "hotelid", "anime", "animeid", "article", "articleid", "place", "placeid", "beer",
            "beerid", "wine", "wineid", "joke", "jokeid", "course", "courseid", "app", "appid",
            "show", "showid", "video", "videoid", "object", "objectid",
        )
    ),
    "rating": frozenset(
        (
            "rating", "ratings", "rate", "rated", "score", "scores", "stars", "star", "value",
            "grade", "preference", "pref", "r", "bookrating", "movierating", "userrating",
            "overall", "points", "mark", "reviewscore",
        )
    ),
    "timestamp": frozenset(
        (
            "timestamp", "time", "date", "datetime", "ts", "unixtime", "unixreviewtime",
            "reviewtime", "created", "createdat", "ratedat", "epoch", "when",
        )
    ),
}  # fmt: skip
# Used only when no column has a name from _ALIASES for that role.
_SECONDARY_ALIASES = {"item": frozenset(["title", "name", "itemname", "moviename", "booktitle"])}

_SEPARATORS = ("::", "\t", ",", ";", "|")
_SEPARATOR_NAMES = {
    "::": "'::' (MovieLens 1M)",
    "\t": "tab",
    ",": "comma",
    ";": "semicolon",
    "|": "pipe",
    " ": "runs of spaces",
}
# Substituted for '::' and runs of spaces so pyarrow can parse with a one-byte separator.
_UNIT_SEPARATOR = "\x1f"
_SNIFF_BYTES = 256 * 1024
# A header longer than this is refused as too wide (a matrix of about a million items).
_MAX_LINE_BYTES = 16 * 2**20
_SNIFF_LINES = 200
_MAX_EXAMPLES = 5

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9]\d{0,17})$")
_NEWLINE = re.compile(r"\r\n|\r|\n")

_MAGIC = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook): extract or export it as CSV"),
    (b"\x1f\x8b", "a gzip-compressed file: decompress it first"),
    (b"PAR1", "a Parquet file: export it as CSV"),
    (b"%PDF", "a PDF document, not a ratings table"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file: save it as CSV"),
    (b"\x89PNG", "a PNG image, not a ratings table"),
    (b"\xff\xd8\xff", "a JPEG image, not a ratings table"),
)


# --------------------------------------------------------------------------------- report
@dataclass
class ReadReport:
    """What ``read_ratings`` detected and did; ``summary()`` gives it as short sentences."""

    source: str | None = None
    size_bytes: int = 0
    encoding: str = ""
    line_ending: str = ""
    separator: str = ""
    separator_name: str = ""
    header: bool = False
    header_names: list[str] = field(default_factory=list)
    layout: str = ""
    columns: dict[str, str | None] = field(default_factory=dict)
    column_positions: dict[str, int | None] = field(default_factory=dict)
    mapped_by: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    decimal_comma: bool = False
    rows_read: int = 0
    blank_lines: int = 0
    rows_dropped: int = 0
    dropped_examples: list[str] = field(default_factory=list)
    zeros_dropped: int = 0
    duplicate_pairs: int = 0
    duplicate_rows_merged: int = 0
    duplicate_policy: str = ""
    n_users: int = 0
    n_items: int = 0
    n_ratings: int = 0
    id_types: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    preview: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values (the preview table is left out)."""
        out = asdict(self)
        out.pop("preview", None)
        return out

    def summary(self) -> list[str]:
        """The report as short sentences for a UI."""
        lines = [
            f"Encoding {self.encoding}, {self.line_ending} line ends, separator "
            f"{self.separator_name}, {'a header row' if self.header else 'no header row'}.",
        ]
        if self.layout == "long":
            mapping = ", ".join(
                f"{role} = {name!r}" for role, name in self.columns.items() if name is not None
            )
            lines.append(f"Long form ({self.mapped_by}): {mapping}.")
        elif self.layout == "wide":
            lines.append(
                f"Wide form: user ids in column {self.columns.get('user')!r}, item ids in the "
                "header, empty cells are missing"
                + (", zeros are missing." if self.zeros_dropped else ".")
            )
        if self.ignored_columns:
            lines.append(f"Ignored columns: {', '.join(map(repr, self.ignored_columns))}.")
        if self.rows_read:
            lines.append(
                f"Read {self.rows_read:,} rows: {self.n_ratings:,} ratings by {self.n_users:,} "
                f"users of {self.n_items:,} items (ids: users {self.id_types.get('user')}, "
                f"items {self.id_types.get('item')})."
            )
        if self.decimal_comma:
            lines.append("Ratings use a decimal comma (3,5 read as 3.5).")
        if self.blank_lines:
            lines.append(f"Skipped {self.blank_lines:,} blank line(s).")
        if self.rows_dropped:
            lines.append(
                f"Dropped {self.rows_dropped:,} invalid row(s)/cell(s), e.g. "
                + "; ".join(self.dropped_examples[:3])
                + "."
            )
        if self.zeros_dropped:
            lines.append(f"Treated {self.zeros_dropped:,} zero cell(s) as missing.")
        if self.duplicate_pairs:
            lines.append(
                f"{self.duplicate_pairs:,} (user, item) pair(s) were rated more than once; "
                f"kept {self.duplicate_policy} ({self.duplicate_rows_merged:,} row(s) merged)."
            )
        lines.extend(self.warnings)
        return lines


# --------------------------------------------------------------------------------- public
def read_ratings(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    columns: Mapping[str, str | int | None] | None = None,
    wide: bool | None = None,
    separator: str | None = None,
    header: bool | None = None,
    zero_is_missing: bool = False,
    drop_invalid: bool = False,
    duplicates: str = "error",
    max_bytes: int = MAX_BYTES,
) -> Ratings:
    """Read a ratings file (long or wide form) into ``Ratings``; see the module docs.

    Parameters (all but ``source`` keyword only)
    --------------------------------------------
    source: a path, the file's bytes, or a binary file-like object (read from the start).
    columns: explicit mapping that overrides detection, role -> header name or 0-based
        position, roles ``user``, ``item``, ``rating``, ``timestamp`` (``None`` = no such
        column). In wide form only ``user`` is used (the column holding user ids).
    wide: force wide (True) or long (False) form; None detects it.
    separator: force the separator (``","``, ``";"``, ``"\\t"``, ``"|"``, ``"::"`` or ``" "``
        for runs of spaces); None detects it.
    header: force whether the first line is a header; None detects it.
    zero_is_missing: in wide form, a 0 cell means *not rated* (as in the article's picture).
    drop_invalid: drop rows whose rating is not a finite number (or whose ids or timestamp are
        missing or unreadable; in wide form, such cells) instead of raising; the report says
        how many and which lines.
    duplicates: repeated (user, item) pairs: ``"error"`` (default), ``"last"``, ``"first"`` or
        ``"mean"`` (timestamps: the latest).
    max_bytes: refuse files larger than this (default ``MAX_UPLOAD_MB`` megabytes).

    Raises ``RatingsError`` (and nothing else) for anything that cannot be read as ratings.
    """
    ratings, _ = read_ratings_report(
        source,
        columns=columns,
        wide=wide,
        separator=separator,
        header=header,
        zero_is_missing=zero_is_missing,
        drop_invalid=drop_invalid,
        duplicates=duplicates,
        max_bytes=max_bytes,
    )
    return ratings


def read_ratings_report(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    columns: Mapping[str, str | int | None] | None = None,
    wide: bool | None = None,
    separator: str | None = None,
    header: bool | None = None,
    zero_is_missing: bool = False,
    drop_invalid: bool = False,
    duplicates: str = "error",
    max_bytes: int = MAX_BYTES,
) -> tuple[Ratings, ReadReport]:
    """``read_ratings`` plus the ``ReadReport`` of what was detected and done."""
    options = _Options(
        columns=dict(columns) if columns is not None else None,
        wide=wide,
        separator=separator,
        header=header,
        zero_is_missing=zero_is_missing,
        drop_invalid=drop_invalid,
        duplicates=duplicates,
        max_bytes=max_bytes,
    )
    try:
        return _read(source, options)
    except RatingsError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # pragma: no cover - the fuzz test checks nothing reaches here
        # A UI must get a message, never a traceback; keep the cause chained for the log.
        raise RatingsError(
            f"could not read this file ({type(exc).__name__}: {exc}); check that it is a "
            "plain-text table of user, item, rating"
        ) from exc


def inspect_ratings(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    columns: Mapping[str, str | int | None] | None = None,
    wide: bool | None = None,
    separator: str | None = None,
    header: bool | None = None,
    max_bytes: int = MAX_BYTES,
    n_rows: int = 10,
) -> ReadReport:
    """Detect the dialect, header, layout and column mapping from the first lines only.

    Never raises over the mapping (missing or ambiguous columns go into ``warnings`` and the
    role's entry is None), so a UI can list ``header_names`` for the user to choose from.
    ``preview`` holds the first ``n_rows`` rows as text. Raises ``RatingsError`` only when the
    bytes cannot be a table at all (empty, binary, too big, no separator).
    """
    options = _Options(
        columns=dict(columns) if columns is not None else None,
        wide=wide,
        separator=separator,
        header=header,
        max_bytes=max_bytes,
    )
    data, name = _load_bytes(source, max_bytes)
    decoded = _decode(data)
    dialect = _detect(decoded, options)
    report = _base_report(name, len(data), decoded, dialect)
    try:
        plan = _plan(dialect, options)
    except RatingsError as exc:
        report.warnings.append(str(exc))
        # Still offer the unambiguous guesses, so a UI can pre-select them.
        found = _roles_by_name(dialect.names, skip=set()) if dialect.header else {}
        report.columns = {
            role: dialect.names[found[role][0]] if len(found.get(role, [])) == 1 else None
            for role in ROLES
        }
    else:
        _apply_plan_to_report(report, plan, dialect)
    rows = dialect.sample_rows[int(dialect.header) : int(dialect.header) + n_rows]
    width = dialect.n_columns
    report.preview = pd.DataFrame(
        [(r + [""] * width)[:width] for r in rows], columns=dialect.names, dtype=object
    )
    return report


# --------------------------------------------------------------------------------- internals
@dataclass
class _Options:
    columns: dict[str, str | int | None] | None = None
    wide: bool | None = None
    separator: str | None = None
    header: bool | None = None
    zero_is_missing: bool = False
    drop_invalid: bool = False
    duplicates: str = "error"
    max_bytes: int = MAX_BYTES


@dataclass
class _Decoded:
    utf8: bytes  # the whole file as UTF-8 without BOM
    encoding: str
    line_ending: str


@dataclass
class _Dialect:
    separator: str  # one of _SEPARATORS or " " (runs of spaces)
    header: bool
    names: list[str]  # header names, or "column 1".. without a header
    n_columns: int
    sample_rows: list[list[str]]  # the first lines split into fields (header included)
    decoded: _Decoded
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    layout: str  # "long" | "wide"
    positions: dict[str, int | None]
    mapped_by: str
    warnings: list[str] = field(default_factory=list)


def _read(source: Any, options: _Options) -> tuple[Ratings, ReadReport]:
    if options.duplicates not in DUPLICATE_POLICIES:
        raise RatingsError(
            f"duplicates must be one of {DUPLICATE_POLICIES}, got {options.duplicates!r}"
        )
    data, name = _load_bytes(source, options.max_bytes)
    decoded = _decode(data)
    dialect = _detect(decoded, options)
    plan = _plan(dialect, options)
    report = _base_report(name, len(data), decoded, dialect)
    _apply_plan_to_report(report, plan, dialect)
    table, rejects = _parse(dialect, plan)
    if plan.layout == "long":
        ratings = _long_to_ratings(table, rejects, dialect, plan, options, report)
    else:
        ratings = _wide_to_ratings(table, rejects, dialect, plan, options, report)
    report.n_users, report.n_items, report.n_ratings = ratings.n_users, ratings.n_items, ratings.nnz
    ratings = _with_notes(ratings, report.summary())
    return ratings, report


# ----------------------------------------------------------------------- bytes and text
def _load_bytes(source: Any, max_bytes: int) -> tuple[bytes, str | None]:
    limit = f"{max_bytes / 2**20:,.0f} MB" if max_bytes >= 2**20 else f"{max_bytes:,} bytes"
    too_big = (
        "the file is {size} but the limit is {limit} (als_core.MAX_UPLOAD_MB); keep a sample "
        "of the rows, or split the file"
    )
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            exists = path.is_file()
        except (OSError, ValueError):  # e.g. a name too long, or a NUL in it
            exists = False
        if not exists:
            text_given = "\n" in str(source)
            hint = " (to read CSV text, pass its bytes: text.encode())" if text_given else ""
            raise RatingsError(f"no file at {_clip(str(path))!r}; check the path{hint}")
        size = path.stat().st_size
        if size > max_bytes:
            raise RatingsError(too_big.format(size=_human_size(size), limit=limit))
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = None
    elif hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray)):
            raise RatingsError(
                f"the file object returned {type(data).__name__} from read(); open it in "
                "binary mode ('rb') or pass its bytes"
            )
        data = bytes(data)
        name = getattr(source, "name", None)
        name = os.path.basename(name) if isinstance(name, str) else None
    else:
        raise RatingsError(
            f"expected a path, bytes or a binary file object, got {type(source).__name__}"
        )
    if len(data) > max_bytes:
        size = "more than " + limit if hasattr(source, "read") else _human_size(len(data))
        raise RatingsError(too_big.format(size=size, limit=limit))
    return data, name


def _human_size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def _decode(data: bytes) -> _Decoded:
    if not data or data.isspace():
        raise RatingsError(
            "the file is empty; expected lines of user, item, rating (e.g. 'user,item,rating' "
            "then '1,42,4.5')"
        )
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise RatingsError(f"this looks like {what}; upload a CSV or text file of ratings")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RatingsError(
                f"the file starts like UTF-16 text but byte {exc.start} cannot be decoded; "
                "save it as UTF-8 CSV"
            ) from exc
        encoding = "UTF-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        text = _decode_utf8(data[3:])
        encoding = "UTF-8 with BOM"
    else:
        try:
            text = data.decode("utf-8")
            encoding = "UTF-8"
        except UnicodeDecodeError:
            text, encoding = _decode_legacy(data)
    _refuse_binary(text)
    if encoding == "UTF-8":
        utf8 = data
    elif encoding == "UTF-8 with BOM":
        utf8 = data[3:]
    else:
        utf8 = text.encode("utf-8")
    return _Decoded(utf8=utf8, encoding=encoding, line_ending=_line_ending(utf8))


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RatingsError(
            f"the file starts with a UTF-8 byte-order mark but line {line} is not valid UTF-8 "
            f"(byte {exc.start}); re-save it as UTF-8"
        ) from exc


def _decode_legacy(data: bytes) -> tuple[str, str]:
    # Windows-1252 is what spreadsheet programs write on Western systems; where it leaves a
    # byte undefined, Latin-1 (which maps every byte) takes over.
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _refuse_binary(text: str) -> None:
    head = text[:65536]
    if "\x00" in head:
        raise RatingsError(
            "the file contains NUL bytes, so it is binary (or UTF-16 without a byte-order "
            "mark), not a text table; export it as CSV (UTF-8)"
        )
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > max(2, len(head) // 100):
        raise RatingsError(
            f"the start of the file holds {controls} control characters, so it is not a text "
            "table; upload a CSV or text file of ratings"
        )


def _line_ending(utf8: bytes) -> str:
    # Look past a first line longer than the sniff window (a very wide header).
    first = [
        i
        for i in (utf8.find(b"\n", 0, _MAX_LINE_BYTES), utf8.find(b"\r", 0, _MAX_LINE_BYTES))
        if i >= 0
    ]
    head = utf8[: min(first, default=0) + _SNIFF_BYTES]
    crlf = head.count(b"\r\n")
    lf = head.count(b"\n") - crlf
    cr = head.count(b"\r") - crlf
    counts = {"CRLF": crlf, "LF": lf, "CR": cr}
    best = max(counts, key=counts.get)
    return best if counts[best] else "none (one line)"


# ----------------------------------------------------------------------- detection
def _sample_lines(decoded: _Decoded) -> list[tuple[int, str]]:
    """The first non-blank lines, each with its physical line number (1 = first line).

    Normally the first 256 KB; a header longer than that (a matrix with very many items) is
    sniffed whole, with a few lines below it, so its width is counted right.
    """
    data = decoded.utf8
    newline = b"\r" if decoded.line_ending == "CR" else b"\n"
    ends = []
    position = 0
    for _ in range(5):
        found = data.find(newline, position)
        if found < 0:
            break
        position = found + 1
        ends.append(position)
    first_end = ends[0] if ends else len(data)
    if first_end > _MAX_LINE_BYTES:
        raise RatingsError(
            f"the first line is {_human_size(first_end)} long, more than the "
            f"{_human_size(_MAX_LINE_BYTES)} a header may have: too wide to be a table of "
            "ratings; write one rating per line (user, item, rating)"
        )
    end = max(_SNIFF_BYTES, min(ends[-1] if ends else len(data), _MAX_LINE_BYTES), first_end)
    head = data[:end]
    text = head.decode("utf-8", errors="replace")
    lines = _NEWLINE.split(text)
    if len(data) > end and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    return numbered[:_SNIFF_LINES]


def _refuse_other_formats(first_line: str) -> None:
    """JSON and HTML are text, so they pass the binary checks; say what they are."""
    start = first_line.lstrip()
    if start.startswith("{") or (start.startswith("[") and start[1:2] in ("", "{", "[", '"')):
        raise RatingsError(
            "this looks like JSON (it starts with "
            f"{_clip(start, 20)!r}), not a table of ratings; export it as CSV with one "
            "rating per line (user, item, rating)"
        )
    if start.lower().startswith(("<!doctype html", "<html", "<?xml")):
        kind = "XML" if start.lower().startswith("<?xml") else "a web page (HTML)"
        raise RatingsError(
            f"this looks like {kind}, not a table of ratings; if you saved a download page, "
            "download the data file itself (CSV or text)"
        )


def _split_fields(line: str, separator: str) -> list[str]:
    if separator == " ":
        return line.split()
    if separator == "::":
        return [f.strip() for f in line.split("::")]
    try:
        fields = next(csv.reader([line], delimiter=separator, quotechar='"'))
    except (csv.Error, StopIteration):
        fields = line.split(separator)
    return [f.strip() for f in fields]


def _detect(decoded: _Decoded, options: _Options) -> _Dialect:
    numbered = _sample_lines(decoded)
    if not numbered:
        raise RatingsError("the file has no lines with text; expected user, item, rating rows")
    _refuse_other_formats(numbered[0][1])
    separator = _choose_separator(numbered, options.separator)
    lines = [ln for _, ln in numbered]
    rows = [_split_fields(ln, separator) for ln in lines]
    width = Counter(len(r) for r in rows).most_common(1)[0][0]
    if width < 2:
        if options.separator is not None:
            raise RatingsError(
                f"with the separator {_SEPARATOR_NAMES[separator]} every line has a single field "
                f"(first line: {_clip(lines[0])!r}); choose another separator or let it be "
                "detected"
            )
        raise RatingsError(
            f"every line has a single field (first line: {_clip(lines[0])!r}); separate user, "
            "item and rating with a comma, semicolon, tab, pipe, spaces or '::'"
        )
    has_header = options.header if options.header is not None else _looks_like_header(rows)
    warnings: list[str] = []
    if has_header:
        data_widths = Counter(len(r) for r in rows[1:])
        if data_widths and len(rows[0]) == data_widths.most_common(1)[0][0] - 1:
            # R's write.csv leaves out the corner cell above the row names.
            rows[0].insert(0, "")
            warnings.append(
                "The header has one name fewer than the rows (as R writes row names); the "
                "first column was taken as unnamed."
            )
        names = [n if n else f"column {j + 1}" for j, n in enumerate(rows[0])]
        width = len(rows[0])
        names = _deduplicate_names(names)
    else:
        names = [f"column {j + 1}" for j in range(width)]
    return _Dialect(
        separator=separator,
        header=has_header,
        names=names,
        n_columns=width,
        sample_rows=rows,
        decoded=decoded,
        warnings=warnings,
    )


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _choose_separator(numbered: list[tuple[int, str]], forced: str | None) -> str:
    if forced is not None:
        allowed = (*_SEPARATORS, " ")
        if forced not in allowed:
            raise RatingsError(f"separator must be one of {[s for s in allowed]}, got {forced!r}")
        return forced
    lines = [ln for _, ln in numbered[:50]]
    consistent: list[tuple[int, int, str]] = []
    loose: list[tuple[float, int, int, str]] = []
    for priority, sep in enumerate((*_SEPARATORS, " ")):
        counts = Counter(len(_split_fields(ln, sep)) for ln in lines)
        width, hits = counts.most_common(1)[0]
        if width < 2:
            continue
        share = hits / len(lines)
        if sep == "::" and share >= 0.9:
            return sep  # '::' never occurs by chance in every line
        if share >= 0.9 and sep != " ":
            consistent.append((width, -priority, sep))
        loose.append((share, width, -priority, sep))
    if consistent:
        chosen, width = max(consistent)[2], max(consistent)[0]
    elif [c for c in loose if c[3] == " " and c[0] >= 0.9]:
        chosen, width = " ", 0
    elif loose:
        chosen, width = max(loose)[3], max(loose)[1]
    else:
        raise RatingsError(_mixed_separators_message(numbered[:50]))
    if width and len(lines) > 1:
        _refuse_a_header_with_another_separator(numbered, chosen, width)
    return chosen


def _best_separator(line: str) -> tuple[str, int] | None:
    """The separator that splits one line into the most fields (at least 2), or None."""
    best = None
    for sep in _SEPARATORS:
        n = len(_split_fields(line, sep))
        if n >= 2 and (best is None or n > best[1]):
            best = (sep, n)
    return best


def _mixed_separators_message(numbered: list[tuple[int, str]]) -> str:
    by_separator: dict[str, list[int]] = {}
    for number, line in numbered:
        best = _best_separator(line)
        if best is not None:
            by_separator.setdefault(best[0], []).append(number)
    if len(by_separator) < 2:
        return (
            f"could not find a separator in the first lines (line {numbered[0][0]}: "
            f"{_clip(numbered[0][1])!r}); separate user, item and rating with a comma, "
            "semicolon, tab, pipe, spaces or '::'"
        )
    parts = [
        f"{_SEPARATOR_NAMES[sep]} on {_line_list(found)}"
        for sep, found in sorted(by_separator.items(), key=lambda kv: kv[1][0])
    ]
    return (
        "the lines do not share one separator: "
        + "; ".join(parts)
        + ". Use the same separator on every line (re-save the file from a spreadsheet, or "
        "replace the odd ones)"
    )


def _refuse_a_header_with_another_separator(
    numbered: list[tuple[int, str]], chosen: str, width: int
) -> None:
    """A header written with one separator over rows written with another (hand-made files)."""
    number, first = numbered[0]
    if len(_split_fields(first, chosen)) != 1:
        return
    best = _best_separator(first)
    if best is None or best[0] == chosen or best[1] != width:
        return
    rows = [n for n, ln in numbered[1:] if len(_split_fields(ln, chosen)) == width]
    raise RatingsError(
        f"line {number} (the header, {_clip(first)!r}) uses the separator "
        f"{_SEPARATOR_NAMES[best[0]]} but the lines below use {_SEPARATOR_NAMES[chosen]} "
        f"({_line_list(rows)}); use one separator throughout"
    )


def _line_list(numbers: list[int], limit: int = 4) -> str:
    """'line 3', 'lines 2, 5 and 9' or 'lines 2, 3, 4, 5, …'."""
    shown = [str(n) for n in numbers[:limit]]
    if len(numbers) == 1:
        return f"line {shown[0]}"
    if len(numbers) > limit:
        return f"lines {', '.join(shown)}, …"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _looks_like_header(rows: list[list[str]]) -> bool:
    first, rest = rows[0], rows[1:]
    if any(_normalise(f) in aliases for f in first for aliases in _ALIASES.values()):
        return True
    if not rest:
        return not any(_is_number(f) for f in first)
    if first and first[0] == "" and len(first) > 2:
        return True  # the empty corner cell of a matrix
    widths = Counter(len(r) for r in rest).most_common(1)[0][0]
    if len(first) >= 2 and len(first) == widths - 1:
        return True  # R's write.csv: a header without the corner cell above the row names
    for j, name in enumerate(first):
        if _is_number(name) or not name:
            continue
        below = [r[j] for r in rest if j < len(r) and r[j]]
        if below and sum(map(_is_number, below)) >= 0.8 * len(below):
            return True
    return False


def _deduplicate_names(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


# ----------------------------------------------------------------------- column mapping
def _plan(dialect: _Dialect, options: _Options) -> _Plan:
    explicit = _explicit_positions(dialect, options.columns)
    layout = _choose_layout(dialect, options, explicit)
    if layout == "wide":
        if not dialect.header:
            raise RatingsError(
                "a wide matrix needs a header row holding the item ids (first cell: the user "
                "column's name or empty); add one, or read it as long form (wide=False)"
            )
        user = explicit.get("user")
        return _Plan(
            layout="wide",
            positions={"user": 0 if user is None else user},
            mapped_by="wide matrix",
        )
    return _plan_long(dialect, explicit)


def _explicit_positions(
    dialect: _Dialect, columns: dict[str, str | int | None] | None
) -> dict[str, int | None]:
    if not columns:
        return {}
    unknown = [role for role in columns if role not in ROLES]
    if unknown:
        raise RatingsError(f"unknown role(s) {unknown} in columns=; use {list(ROLES)}")
    out: dict[str, int | None] = {}
    for role, ref in columns.items():
        if ref is None:
            out[role] = None
        elif isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            if not 0 <= int(ref) < dialect.n_columns:
                raise RatingsError(
                    f"columns={{{role!r}: {ref}}} is out of range: the file has "
                    f"{dialect.n_columns} columns (positions 0..{dialect.n_columns - 1})"
                )
            out[role] = int(ref)
        else:
            matches = [j for j, n in enumerate(dialect.names) if n == ref]
            if not matches:
                matches = [
                    j for j, n in enumerate(dialect.names) if n.strip().lower() == str(ref).lower()
                ]
            if len(matches) != 1:
                where = "no column" if not matches else f"{len(matches)} columns"
                raise RatingsError(
                    f"columns={{{role!r}: {ref!r}}}: {where} of that name; the columns are "
                    f"{dialect.names}"
                    + ("" if dialect.header else " (no header detected: use positions 0, 1, …)")
                )
            out[role] = matches[0]
    taken = [p for p in out.values() if p is not None]
    if len(taken) != len(set(taken)):
        raise RatingsError(f"columns= maps two roles to the same column: {columns}")
    return out


def _roles_by_name(names: list[str], skip: set[int]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {role: [] for role in ROLES}
    for j, name in enumerate(names):
        if j in skip:
            continue
        key = _normalise(name)
        for role in ROLES:
            if key in _ALIASES[role]:
                found[role].append(j)
    for role, aliases in _SECONDARY_ALIASES.items():
        if not found[role]:
            found[role] = [
                j for j, n in enumerate(names) if j not in skip and _normalise(n) in aliases
            ]
    return found


def _choose_layout(dialect: _Dialect, options: _Options, explicit: dict[str, int | None]) -> str:
    if options.wide is not None:
        return "wide" if options.wide else "long"
    if any(explicit.get(r) is not None for r in ("item", "rating", "timestamp")):
        return "long"
    if not dialect.header:
        return "long"
    found = _roles_by_name(dialect.names, skip=set())
    if found["item"] or found["rating"]:
        return "long"
    data = dialect.sample_rows[1:]
    cells = [r[j] for r in data for j in range(1, min(len(r), dialect.n_columns))]
    blanks = sum(1 for c in cells if c == "")
    numeric = sum(1 for c in cells if c and _is_number(c))
    share = (numeric + blanks) / len(cells) if cells else 0.0
    corner_empty = dialect.sample_rows[0][0] == ""
    # A named user column with no item or rating column next to it, over columns of numbers,
    # is the article's picture: one row per user, one column per item. (A few bad cells are
    # allowed: reading it as a matrix then says which cells are wrong.)
    user_named = bool(found["user"]) and found["user"][0] == 0
    if share >= 0.6 and (user_named or corner_empty or dialect.n_columns >= 5):
        return "wide"
    if share >= 0.95 and blanks:
        return "wide"
    if dialect.n_columns >= 5 and not found["user"]:
        return "wide"
    return "long"


def _plan_long(dialect: _Dialect, explicit: dict[str, int | None]) -> _Plan:
    positions: dict[str, int | None] = dict(explicit)
    warnings: list[str] = []
    taken = {p for p in explicit.values() if p is not None}
    by_name = _roles_by_name(dialect.names, skip=taken) if dialect.header else {}
    named_any = any(by_name.get(r) for r in ROLES if r not in explicit)
    if dialect.header and named_any:
        mapped_by = "columns found by name"
        for role in ROLES:
            if role in explicit:
                continue
            hits = by_name.get(role, [])
            if len(hits) > 1:
                listed = ", ".join(f"{dialect.names[j]!r} (column {j + 1})" for j in hits)
                raise RatingsError(
                    f"ambiguous {role} column: {listed} could all be it; choose one with "
                    f"columns={{'{role}': <name>}}"
                )
            positions[role] = hits[0] if hits else None
    else:
        mapped_by = "columns taken by position"
        width = dialect.n_columns
        free = [j for j in range(width) if j not in taken]
        needed = [r for r in ("user", "item", "rating") if r not in explicit]
        if width > 4 and needed and len(explicit) == 0:
            raise RatingsError(
                f"found {width} columns and no recognised header, so which column is the "
                "user, the item and the rating is ambiguous; add a header row "
                "(user,item,rating[,timestamp]) or pass columns={'user': 0, 'item': 1, "
                "'rating': 2}"
            )
        for role in needed:
            positions[role] = free.pop(0) if free else None
        if "timestamp" not in explicit:
            positions["timestamp"] = free.pop(0) if (free and width == 4) else None
        if dialect.header and not explicit:
            warnings.append(
                f"The header names {dialect.names} were not recognised, so the columns were "
                "taken in order (user, item, rating"
                + (", timestamp" if positions.get("timestamp") is not None else "")
                + "); choose them yourself if that is wrong, or read the file as a wide "
                "matrix."
            )
    if explicit:
        detected_any = any(r not in explicit and positions.get(r) is not None for r in ROLES)
        mapped_by = "columns as given" + (
            f", the rest {mapped_by.split(' ', 1)[1]}" if detected_any else ""
        )
    missing = [r for r in ("user", "item", "rating") if positions.get(r) is None]
    if missing:
        listed = ", ".join(repr(n) for n in dialect.names)
        hint = ", ".join(f"'{r}': <column>" for r in missing)
        raise RatingsError(
            f"no {' / '.join(missing)} column found among {listed}; rename the header "
            f"(e.g. user, item, rating) or pass columns={{{hint}}}"
        )
    for role in ROLES:
        positions.setdefault(role, None)
    return _Plan(layout="long", positions=positions, mapped_by=mapped_by, warnings=warnings)


def _base_report(name: str | None, size: int, decoded: _Decoded, dialect: _Dialect) -> ReadReport:
    return ReadReport(
        source=name,
        size_bytes=size,
        encoding=decoded.encoding,
        line_ending=decoded.line_ending,
        separator=dialect.separator,
        separator_name=_SEPARATOR_NAMES[dialect.separator],
        header=dialect.header,
        header_names=list(dialect.names),
        warnings=list(dialect.warnings),
    )


def _apply_plan_to_report(report: ReadReport, plan: _Plan, dialect: _Dialect) -> None:
    report.layout = plan.layout
    report.mapped_by = plan.mapped_by
    report.column_positions = dict(plan.positions)
    report.columns = {
        role: (dialect.names[p] if p is not None else None) for role, p in plan.positions.items()
    }
    if plan.layout == "long":
        used = {p for p in plan.positions.values() if p is not None}
        report.ignored_columns = [n for j, n in enumerate(dialect.names) if j not in used]
    report.warnings.extend(plan.warnings)


# ----------------------------------------------------------------------- parsing
@dataclass
class _Rejects:
    """Lines pyarrow could not split into the expected number of fields."""

    blank: int = 0
    ragged: list[tuple[int | None, str, int]] = field(default_factory=list)  # (row, text, n)
    ragged_rows: list[int] = field(default_factory=list)  # pyarrow row numbers


def _parse(dialect: _Dialect, plan: _Plan) -> tuple[pa.Table, _Rejects]:
    data = dialect.decoded.utf8
    delimiter = dialect.separator
    if delimiter == "::":
        data = data.replace(b"::", _UNIT_SEPARATOR.encode())
        delimiter = _UNIT_SEPARATOR
    elif delimiter == " " and _needs_space_collapsing(data):
        data = re.sub(rb"[ \t]+", _UNIT_SEPARATOR.encode(), data)
        data = re.sub(rb"(?m)^\x1f|\x1f(?=\r?$)", b"", data)
        delimiter = _UNIT_SEPARATOR
    # (single spaces only, with none at the ends of lines: pyarrow splits on " " directly)
    width = dialect.n_columns
    names = [f"c{j}" for j in range(width)]
    if plan.layout == "long":
        keep = [names[p] for p in plan.positions.values() if p is not None]
    else:
        keep = names
    rejects = _Rejects()

    def on_invalid(row: Any) -> str:
        if not row.text.strip():
            rejects.blank += 1
        else:
            rejects.ragged.append((row.number, row.text, row.actual_columns))
            if row.number is not None:
                rejects.ragged_rows.append(int(row.number))
        return "skip"

    # The unit separator (or a chosen separator) has no quoting in the '::' and spaces dialects.
    quoting = dialect.separator not in ("::", " ")
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1 if dialect.header else 0,
                use_threads=False,  # row numbers of bad lines are only known single-threaded
                block_size=16 * 2**20,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoting else False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=keep,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise RatingsError(
            f"could not parse the file as a {_SEPARATOR_NAMES[dialect.separator]}-separated "
            f"table: {str(exc).splitlines()[0]}; check quotes and separators"
        ) from exc
    dialect.decoded = _Decoded(  # keep the text pyarrow saw, for line numbers later
        utf8=data, encoding=dialect.decoded.encoding, line_ending=dialect.decoded.line_ending
    )
    return table, rejects


def _needs_space_collapsing(data: bytes) -> bool:
    doubled = b"  " in data or b"\t" in data
    at_line_ends = b"\n " in data or data.startswith(b" ") or b" \n" in data or b" \r" in data
    return doubled or at_line_ends


class _Lines:
    """Physical line numbers of parsed table rows (built only when a message needs them)."""

    def __init__(self, dialect: _Dialect, rejects: _Rejects) -> None:
        self._dialect = dialect
        self._rejects = rejects
        self._table_lines: np.ndarray | None = None
        self._row_lines: np.ndarray | None = None

    def _build(self) -> None:
        text = self._dialect.decoded.utf8.decode("utf-8", errors="replace")
        lines = _NEWLINE.split(text)
        # pyarrow skips zero-length lines and counts every other line as a row (1-based).
        nonempty = np.array([i + 1 for i, ln in enumerate(lines) if ln != ""], dtype=np.int64)
        self._row_lines = nonempty
        skip = int(self._dialect.header)
        rejected = set(self._rejects.ragged_rows)
        keep = [
            k
            for k in range(skip, len(nonempty))
            if (k + 1) not in rejected and lines[nonempty[k] - 1].strip() != ""
        ]
        self._table_lines = nonempty[keep]

    def of_table_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._table_lines is None:
            self._build()
        assert self._table_lines is not None
        rows = np.asarray(rows, dtype=np.int64)
        known = self._table_lines
        if known.size == 0:
            return np.full(rows.shape, -1, dtype=np.int64)
        return np.where(rows < known.size, known[np.minimum(rows, known.size - 1)], -1)

    def of_parser_row(self, number: int | None) -> int | None:
        if number is None:
            return None
        if self._row_lines is None:
            self._build()
        assert self._row_lines is not None
        return int(self._row_lines[number - 1]) if 0 < number <= len(self._row_lines) else None


def _ragged_message(
    rejects: _Rejects, lines: _Lines, width: int, layout: str, drop_hint: bool
) -> str:
    examples = []
    for number, text, n in rejects.ragged[:_MAX_EXAMPLES]:
        line = lines.of_parser_row(number)
        where = f"line {line}" if line else "a line"
        examples.append(f"{where} has {n} field(s): {_clip(text.strip(), 50)!r}")
    what = "row(s) of the matrix" if layout == "wide" else "line(s)"
    fix = (
        "make every row of the matrix as long as the header (empty cells for missing ratings)"
        if layout == "wide"
        else "fix those lines" + (", or pass drop_invalid=True to skip them" if drop_hint else "")
    )
    return (
        f"{len(rejects.ragged):,} {what} do not have the {width} fields of the "
        f"{'header' if layout == 'wide' else 'other lines'} ({'; '.join(examples)}); {fix}"
    )


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_trim_whitespace(column)


def _to_float(column: pa.ChunkedArray, separator: str) -> tuple[np.ndarray, bool]:
    """Numbers from text: NaN where empty or not a number. Also says if a decimal comma was used.

    Fast paths in Arrow's C++ casts (empty cells become nulls, then NaN); only a column with
    text that is not a number goes through pandas, to find which values are bad.
    """
    text = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    comma_first = separator != "," and pc.any(pc.match_substring(text.slice(0, 1000), ",")).as_py()
    if not comma_first:
        try:
            return _float_array(pc.cast(text, pa.float64())), False
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    if separator != ",":
        try:  # every value parses once commas become points: a decimal comma
            dotted = pc.replace_substring(text, ",", ".")
            return _float_array(pc.cast(dotted, pa.float64())), True
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    series = column.to_pandas()
    numbers = pd.to_numeric(series, errors="coerce")
    values = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    decimal_comma = False
    if separator != ",":
        bad = np.isnan(values) & (series != "").to_numpy()
        if bad.any():
            commas = series[bad].str.match(_DECIMAL_COMMA.pattern).to_numpy(dtype=bool)
            if commas.mean() > 0.5:
                fixed = pd.to_numeric(
                    series[bad].str.replace(",", ".", regex=False), errors="coerce"
                )
                values[np.flatnonzero(bad)] = fixed.to_numpy(dtype=np.float64, na_value=np.nan)
                decimal_comma = True
    return values, decimal_comma


def _float_array(values: pa.ChunkedArray) -> np.ndarray:
    out = values.to_numpy(zero_copy_only=False)
    return np.array(out, dtype=np.float64, copy=True)  # writable, nulls as NaN


def _ids(uniques: pd.Index) -> tuple[np.ndarray, str]:
    """Labels as int64 when every one is a plain integer, else as text; and which it was."""
    labels = pd.Series(uniques, dtype="str")
    if len(labels) and bool(labels.str.fullmatch(_PLAIN_INTEGER.pattern).all()):
        return labels.astype("int64").to_numpy(), "integer"
    return labels.to_numpy(dtype=object), "text"


def _describe_rows(
    mask: np.ndarray,
    what: str,
    values: pd.Series | None,
    column: str,
    lines: _Lines,
) -> str:
    # e.g. "3 rating(s) in 'rating' (column 3) are not ...: line 4 'abc', line 9 ''"
    idx = np.flatnonzero(mask)[:_MAX_EXAMPLES]
    where = lines.of_table_rows(idx)
    parts = []
    for row, line in zip(idx, where, strict=True):
        shown = f" {_clip(str(values.iloc[row]), 30)!r}" if values is not None else ""
        parts.append(f"line {line}{shown}")
    more = ", …" if mask.sum() > len(idx) else ""
    return f"{int(mask.sum()):,} {what.format(column=column)}: {', '.join(parts)}{more}"


def _column_label(dialect: _Dialect, position: int) -> str:
    if dialect.header:
        return f"{dialect.names[position]!r} (column {position + 1})"
    return f"column {position + 1}"


# ----------------------------------------------------------------------- long form
def _long_to_ratings(
    table: pa.Table,
    rejects: _Rejects,
    dialect: _Dialect,
    plan: _Plan,
    options: _Options,
    report: ReadReport,
) -> Ratings:
    lines = _Lines(dialect, rejects)
    report.blank_lines = rejects.blank + _count_blank_lines(dialect, table.num_rows, rejects)
    if rejects.ragged:
        message = _ragged_message(rejects, lines, dialect.n_columns, "long", drop_hint=True)
        if not options.drop_invalid:
            raise RatingsError(message)
        report.rows_dropped += len(rejects.ragged)
        report.dropped_examples.extend(
            f"line {lines.of_parser_row(num)} has {n} fields" for num, _, n in rejects.ragged[:3]
        )
    pos = plan.positions
    col = {role: f"c{p}" for role, p in pos.items() if p is not None}
    name = {role: _column_label(dialect, p) for role, p in pos.items() if p is not None}
    n_rows = table.num_rows
    report.rows_read = n_rows + len(rejects.ragged)
    if n_rows == 0:
        raise RatingsError(
            "the file has a header but no ratings below it"
            if dialect.header
            else "the file has no rows that could be read"
        )
    users = _trimmed(table[col["user"]])
    items = _trimmed(table[col["item"]])
    rating_text = _trimmed(table[col["rating"]])
    values, report.decimal_comma = _to_float(rating_text, dialect.separator)
    problems: list[tuple[np.ndarray, str, str, pd.Series | None]] = []
    no_user = pc.equal(users, "").to_numpy(zero_copy_only=False)
    no_item = pc.equal(items, "").to_numpy(zero_copy_only=False)
    bad_rating = ~np.isfinite(values)
    problems.append((no_user, "row(s) have no user id in {column}", name["user"], None))
    problems.append((no_item, "row(s) have no item id in {column}", name["item"], None))
    problems.append(
        (
            bad_rating,
            "rating(s) in {column} are not finite numbers (empty, text, NaN or infinite)",
            name["rating"],
            rating_text.to_pandas(),
        )
    )
    timestamps = None
    if "timestamp" in col:
        timestamps, bad_time, time_text = _parse_timestamps(_trimmed(table[col["timestamp"]]))
        problems.append(
            (
                bad_time,
                "timestamp(s) in {column} are neither numbers nor dates",
                name["timestamp"],
                time_text,
            )
        )
    invalid = np.zeros(n_rows, dtype=bool)
    for mask, *_ in problems:
        invalid |= mask
    if invalid.any():
        described = [
            _describe_rows(mask, what, vals, column, lines)
            for mask, what, column, vals in problems
            if mask.any()
        ]
        if not options.drop_invalid:
            raise RatingsError(
                "; ".join(described)
                + ". Fix or remove those lines, or pass drop_invalid=True to drop them"
            )
        report.rows_dropped += int(invalid.sum())
        report.dropped_examples.extend(described)
        keep = pa.array(~invalid)
        users, items = users.filter(keep), items.filter(keep)
        values = values[~invalid]
        if timestamps is not None:
            timestamps = timestamps[~invalid]
        kept_rows = np.flatnonzero(~invalid)
    else:
        kept_rows = None
    if len(values) == 0:
        raise RatingsError(
            "no valid ratings are left after dropping the invalid rows; check the column "
            "mapping and the rating column"
        )
    user_codes, user_uniques = pd.factorize(users.to_pandas())
    item_codes, item_uniques = pd.factorize(items.to_pandas())
    user_ids, report.id_types["user"] = _ids(user_uniques)
    item_ids, report.id_types["item"] = _ids(item_uniques)
    return _assemble(
        user_codes,
        item_codes,
        values,
        timestamps,
        user_ids,
        item_ids,
        options,
        report,
        describe_pair=lambda first, second: _pair_lines(first, second, kept_rows, lines),
    )


def _count_blank_lines(dialect: _Dialect, table_rows: int, rejects: _Rejects) -> int:
    """Zero-length lines (pyarrow skips them silently): all lines minus the ones accounted for."""
    data = dialect.decoded.utf8
    newline = b"\r" if dialect.decoded.line_ending == "CR" else b"\n"
    n_lines = data.count(newline) + (0 if data.endswith((b"\n", b"\r")) else 1)
    accounted = int(dialect.header) + table_rows + len(rejects.ragged) + rejects.blank
    return max(0, n_lines - accounted)


def _parse_timestamps(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        return values, ~np.isfinite(values), text.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    series = text.to_pandas()
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().mean() > 0.5:
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, ~np.isfinite(values), series
    dates = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    seconds = (dates - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    values = seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, ~np.isfinite(values), series


def _pair_lines(first: int, second: int, kept_rows: np.ndarray | None, lines: _Lines) -> str:
    rows = np.array([first, second])
    if kept_rows is not None:
        rows = kept_rows[rows]
    a, b = lines.of_table_rows(rows)
    return f"lines {a} and {b}"


# ----------------------------------------------------------------------- wide form
def _wide_to_ratings(
    table: pa.Table,
    rejects: _Rejects,
    dialect: _Dialect,
    plan: _Plan,
    options: _Options,
    report: ReadReport,
) -> Ratings:
    lines = _Lines(dialect, rejects)
    report.blank_lines = rejects.blank + _count_blank_lines(dialect, table.num_rows, rejects)
    if rejects.ragged:
        raise RatingsError(
            _ragged_message(rejects, lines, dialect.n_columns, "wide", drop_hint=False)
        )
    n_rows = table.num_rows
    report.rows_read = n_rows
    if n_rows == 0:
        raise RatingsError("the file has a header but no rows of ratings below it")
    user_pos = plan.positions["user"]
    item_pos = [j for j in range(dialect.n_columns) if j != user_pos]
    if not item_pos:
        raise RatingsError("a wide matrix needs at least one item column next to the user ids")
    header = [
        dialect.sample_rows[0][j] if j < len(dialect.sample_rows[0]) else "" for j in item_pos
    ]
    empty = [dialect.names[j] for j, h in zip(item_pos, header, strict=True) if not h.strip()]
    if empty:
        raise RatingsError(
            f"{len(empty)} item column(s) have no id in the header ({', '.join(empty[:3])}); "
            "write the item ids in the first line"
        )
    users = _trimmed(table[f"c{user_pos}"])
    no_user = pc.equal(users, "").to_numpy(zero_copy_only=False)
    # All item columns as one long text array (column after column), so each conversion runs
    # once in Arrow's C++ kernels instead of once per column.
    cells = _trimmed(
        pa.chunked_array(
            [chunk for j in item_pos for chunk in table[f"c{j}"].chunks], type=pa.string()
        )
    )
    filled = pc.not_equal(cells, "").to_numpy(zero_copy_only=False)
    values, report.decimal_comma = _to_float(cells, dialect.separator)
    bad = filled & ~np.isfinite(values)
    n_bad = int(bad.sum())
    observed = filled & np.isfinite(values)
    if options.zero_is_missing:
        zero = observed & (values == 0)
        report.zeros_dropped = int(zero.sum())
        observed &= ~zero
    problems = []
    if n_bad:
        flat = np.flatnonzero(bad)[:_MAX_EXAMPLES]
        k, r = np.divmod(flat, n_rows)
        where = lines.of_table_rows(r)
        examples = "; ".join(
            f"line {ln}, column {dialect.names[item_pos[kk]]!r}: "
            f"{_clip(str(cells[int(f)].as_py()), 30)!r}"
            for ln, kk, f in zip(where, k, flat, strict=True)
        )
        problems.append(f"{n_bad:,} cell(s) are not finite numbers ({examples})")
    if no_user.any():
        problems.append(
            _describe_rows(
                no_user,
                "row(s) have no user id in {column}",
                None,
                _column_label(dialect, user_pos),
                lines,
            )
        )
    if problems:
        if not options.drop_invalid:
            raise RatingsError(
                "; ".join(problems)
                + ". Leave a cell empty for a missing rating, fix the cells, or pass "
                "drop_invalid=True to drop them"
            )
        report.rows_dropped = n_bad + int(no_user.sum())
        report.dropped_examples.extend(problems)
    # Transposed views of the (item, row) blocks: nonzero() then walks row by row, so users
    # appear in file order and each user's items in header order.
    by_row = observed.reshape(len(item_pos), n_rows).T
    by_row = by_row & ~no_user[:, None]
    rows, cols = np.nonzero(by_row)
    vals = values.reshape(len(item_pos), n_rows).T[rows, cols]
    user_text = users.to_pandas()
    user_codes_all, user_uniques = pd.factorize(user_text.where(~no_user, None))
    item_labels = pd.Series([h.strip() for h in header], dtype=object)
    item_codes_all, item_uniques = pd.factorize(item_labels)
    user_ids, report.id_types["user"] = _ids(user_uniques)
    item_ids, report.id_types["item"] = _ids(item_uniques)
    empty_users = len(user_uniques) - len(np.unique(user_codes_all[rows]))
    empty_items = len(item_uniques) - len(np.unique(item_codes_all[cols]))
    if empty_users or empty_items:
        report.warnings.append(
            f"{empty_users} user(s) and {empty_items} item(s) have no ratings at all; they are "
            "kept (ALS gives them the training mean)."
        )
    return _assemble(
        user_codes_all[rows],
        item_codes_all[cols],
        vals,
        None,
        user_ids,
        item_ids,
        options,
        report,
        describe_pair=lambda a, b: _wide_pair(a, b, rows, cols, item_pos, dialect, lines),
    )


def _wide_pair(
    a: int,
    b: int,
    rows: np.ndarray,
    cols: np.ndarray,
    item_pos: list[int],
    dialect: _Dialect,
    lines: _Lines,
) -> str:
    la, lb = lines.of_table_rows(rows[[a, b]])
    ca, cb = (dialect.names[item_pos[c]] for c in cols[[a, b]])
    return f"line {la} column {ca!r} and line {lb} column {cb!r}"


# ----------------------------------------------------------------------- shared tail
def _assemble(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    values: np.ndarray,
    timestamps: np.ndarray | None,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    options: _Options,
    report: ReadReport,
    describe_pair: Any,
) -> Ratings:
    n_items = len(item_ids)
    user_codes = np.asarray(user_codes, dtype=np.int64)
    item_codes = np.asarray(item_codes, dtype=np.int64)
    key = user_codes * n_items + item_codes
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeat = sorted_key[1:] == sorted_key[:-1]
    if repeat.any():
        starts = np.flatnonzero(np.concatenate(([True], ~repeat)))
        sizes = np.diff(np.append(starts, len(sorted_key)))
        n_pairs = int((sizes > 1).sum())
        first_dup = int(np.flatnonzero(sizes > 1)[0])
        a, b = order[starts[first_dup]], order[starts[first_dup] + 1]
        u, i = _show_id(user_ids[user_codes[a]]), _show_id(item_ids[item_codes[a]])
        if options.duplicates == "error":
            raise RatingsError(
                f"{n_pairs:,} (user, item) pair(s) are rated more than once (first: user "
                f"{u}, item {i} at {describe_pair(a, b)}); choose what to keep: "
                "duplicates='last', 'first' or 'mean'"
            )
        report.duplicate_pairs = n_pairs
        report.duplicate_rows_merged = int(len(key) - len(starts))
        report.duplicate_policy = {
            "last": "the last rating",
            "first": "the first rating",
            "mean": "the mean rating",
        }[options.duplicates]
        if options.duplicates == "first":
            pick = order[starts]
        elif options.duplicates == "last":
            pick = order[np.append(starts[1:], len(order)) - 1]
        else:
            pick = order[starts]
            values = values.copy()
            values[pick] = np.add.reduceat(values[order], starts) / sizes
            if timestamps is not None:
                timestamps = timestamps.copy()
                timestamps[pick] = np.maximum.reduceat(timestamps[order], starts)
        order = pick  # one position per pair, still in (user, item) order
    rows, cols = user_codes[order], item_codes[order]
    user_counts = np.bincount(rows, minlength=len(user_ids))
    present_users = int(np.count_nonzero(user_counts))
    present_items = int(np.count_nonzero(np.bincount(cols, minlength=n_items)))
    if present_users < 2 or present_items < 2:
        raise RatingsError(
            f"found {present_users} user(s) and {present_items} item(s) with ratings; ALS needs "
            "at least 2 of each. Check the column mapping (is the user column really the user?)"
        )
    # The positions are sorted by (user, item) already, so the CSR arrays can be laid out
    # directly (Ratings.from_codes would sort a second time).
    indptr = np.zeros(len(user_ids) + 1, dtype=np.int64)
    np.cumsum(user_counts, out=indptr[1:])
    matrix = sp.csr_matrix(
        (np.asarray(values[order], dtype=np.float64), cols, indptr),
        shape=(len(user_ids), n_items),
    )
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return Ratings(
        matrix=matrix,
        user_ids=user_ids,
        item_ids=item_ids,
        timestamps=None if timestamps is None else np.asarray(timestamps[order], np.float64),
    )


def _show_id(label: Any) -> str:
    """An id as a person would write it: text quoted, numbers plain."""
    return repr(label) if isinstance(label, str) else str(label)


def _with_notes(ratings: Ratings, notes: Sequence[str]) -> Ratings:
    return replace(ratings, notes=(*ratings.notes, *notes))
