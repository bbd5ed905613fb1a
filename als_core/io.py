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
it. Line numbers are physical lines of the file (1 = first line; a quoted field may span lines
and the lines after it are counted right). Ratings larger in size than ``MAX_ABS_RATING`` are
refused like unreadable ones. A (user, item) pair rated more than once keeps the mean of its
ratings by default; the report's ``duplicates`` (a ``DuplicateNote``) says how many and where.

Speed and memory: parsing runs in pyarrow's C++ CSV reader with every field as text, a few MB
of the file at a time, then vectorised conversions; there is no Python work per row, and a
file on disk is never held whole (``benchmarks/bench_read.py``: 1,000,000 rows in well under
2 s; a 300 MB file peaks below 3x its size).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import scipy.sparse as sp

from . import _lines
from ._propose import MappingProposal, propose
from .errors import ColumnMappingError, InvalidRowsError, RatingsError
from .ratings import (
    DEFAULT_DUPLICATES,
    DUPLICATE_POLICIES,
    MAX_ABS_RATING,
    DuplicateNote,
    Ratings,
    _plain,
    duplicate_error,
)

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
# Bytes of the file pyarrow turns into one record batch of text. pyarrow reads several blocks
# ahead, so this sets most of the parser's memory: 4 MB keeps it near 150 MB at full speed.
_BLOCK_BYTES = 4 * 2**20
# Integer ids are factorised this many rows at a time (few labels repeat across groups).
_GROUP_ROWS = 2**22
_MAX_EXAMPLES = 5
_FIELDS = "user, item and rating"
_TOO_LARGE = (
    f"rating(s) in {{column}} are larger in size than {MAX_ABS_RATING:g}, the most a rating may "
    "be (a fit squares and sums ratings, and would overflow)"
)

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
    duplicates: DuplicateNote | None = None
    n_users: int = 0
    n_items: int = 0
    n_ratings: int = 0
    id_types: dict[str, str] = field(default_factory=dict)
    proposal: MappingProposal | None = None
    warnings: list[str] = field(default_factory=list)
    preview: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values (the preview table is left out)."""
        out = asdict(self)
        out.pop("preview", None)
        if self.duplicates is not None:
            out["duplicates"] = self.duplicates.to_dict()
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
        if self.duplicates is not None:
            lines.append(
                f"{self.duplicates.sentence()} ({self.duplicate_rows_merged:,} row(s) merged)."
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
    duplicates: str = DEFAULT_DUPLICATES,
    max_bytes: int = MAX_BYTES,
) -> Ratings:
    r"""Read a ratings file (long or wide form) into ``Ratings``.

    Separator, encoding, header, layout and columns are detected (module docs); anything
    detected can be forced. ``read_ratings_report`` returns the same plus what was detected
    and done; ``inspect_ratings`` looks at the first lines only.

    Parameters
    ----------
    source : path, bytes or binary file object
        A path (read in pieces, never whole), the file's bytes, or a binary file-like object
        such as Streamlit's UploadedFile (read from the start).
    columns : dict, optional
        Role -> header name or 0-based position, overriding detection; roles ``user``,
        ``item``, ``rating``, ``timestamp`` (None: no such column). A
        ``MappingProposal.columns`` fits here as it is. In wide form only ``user`` is used
        (the column holding user ids).
    wide : bool, optional
        Force wide (True) or long (False) form; None detects it.
    separator : {",", ";", "\t", "|", "::", " "}, optional
        Force the separator (``" "``: runs of spaces); None detects it.
    header : bool, optional
        Force whether the first line is a header; None detects it.
    zero_is_missing : bool, default False
        In wide form, a 0 cell means *not rated* (as in the article's picture).
    drop_invalid : bool, default False
        Drop rows whose rating is not a finite number, is larger in size than
        ``MAX_ABS_RATING``, or whose ids or timestamp are missing or unreadable (in wide form,
        such cells) instead of raising; the report says how many and which lines.
    duplicates : {"mean", "first", "last", "error"}, default "mean"
        A (user, item) pair rated more than once keeps the mean of its ratings (and its
        latest timestamp), the first or the last rating; ``"error"`` raises
        ``DuplicateRatingsError``. The report's ``duplicates`` says how many and where.
    max_bytes : int, default ``MAX_UPLOAD_MB`` megabytes
        Refuse larger files.

    Returns
    -------
    Ratings
        Ids as given (plain integers as int64, anything else as text: "007" stays "007"),
        numbered in order of first appearance; ``notes`` holds the report's summary.

    Raises
    ------
    RatingsError
        For anything that cannot be read as ratings, and nothing else: the message says what,
        where (line and column) and how to fix it. Subclasses carry structure for a UI:
        ``DuplicateRatingsError`` (``.note``, a ``DuplicateNote``) and
        ``ColumnMappingError`` (``.proposal``, a ``MappingProposal``).

    Examples
    --------
    >>> import als_core as ac
    >>> r = ac.read_ratings(b"userId;movieId;rating\n7;1;4,5\n7;2;3\n9;1;2\n9;2;5\n")
    >>> r
    Ratings(2 users x 2 items, 4 ratings, density 100.00%)
    >>> r.to_frame()
       user  item  rating
    0     7     1     4.5
    1     7     2     3.0
    2     9     1     2.0
    3     9     2     5.0

    A pair rated twice keeps its mean, and the report says where:

    >>> r, report = ac.read_ratings_report(b"u,i,r\n1,1,4\n1,2,3\n2,1,5\n1,1,2\n2,2,1\n")
    >>> report.duplicates.pairs, report.duplicates.lines, report.duplicates.values
    (1, (2, 5), (4.0, 2.0))
    >>> report.duplicates.where()
    'user 1, item 1 on lines 2 and 5'
    >>> float(r.matrix[0, 0])
    3.0

    Bad input says what and where:

    >>> ac.read_ratings(b"user,item,rating\n1,1,5\n1,2,abc\n2,1,4\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    als_core.errors.InvalidRowsError: 1 rating(s) in 'rating' ... line 3 'abc'...
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
    duplicates: str = DEFAULT_DUPLICATES,
    max_bytes: int = MAX_BYTES,
) -> tuple[Ratings, ReadReport]:
    r"""``read_ratings`` plus the ``ReadReport`` of what was detected and done.

    Parameters
    ----------
    source, columns, wide, separator, header, zero_is_missing, drop_invalid, duplicates, \
max_bytes
        As ``read_ratings``.

    Returns
    -------
    ratings : Ratings
    report : ReadReport
        Encoding, separator, header, layout and mapping (``columns``, ``column_positions``,
        ``proposal``), rows read, blank lines, rows dropped and where, the ``duplicates``
        note, sizes and id types; ``summary()`` says it in short sentences.

    Raises
    ------
    RatingsError
        As ``read_ratings``.

    Examples
    --------
    >>> import als_core as ac
    >>> data = b"user,item,rating\n\n1,10,5\n2,10,4\n2,11,1\n1,11,2\n"
    >>> r, report = ac.read_ratings_report(data)
    >>> report.separator_name, report.header, report.blank_lines, report.n_ratings
    ('comma', True, 1, 4)
    >>> report.proposal.reasons["rating"]
    "its header 'rating' names it"
    """
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
    r"""Detect the dialect, header, layout and column mapping from the first lines only.

    Never raises over the mapping: missing or ambiguous columns go into ``warnings``, the
    role's entry in ``columns`` is None, and ``proposal`` holds the best guess from the values
    with a reason per role, so a UI can show it pre-filled and read the file with
    ``read_ratings(source, columns=report.proposal.columns)``.

    Parameters
    ----------
    source, columns, wide, separator, header, max_bytes
        As ``read_ratings``.
    n_rows : int, default 10
        Rows of text kept in ``preview``.

    Returns
    -------
    ReadReport
        Without the counts of a full read; ``preview`` holds the first rows as text.

    Raises
    ------
    RatingsError
        Only when the bytes cannot be a table at all (empty, binary, JSON, too big, no
        separator).

    Examples
    --------
    >>> import als_core as ac
    >>> data = (b"1,100,Drama,R001,4,2019-03-01\n2,101,Comedy,R002,5,2019-03-02\n"
    ...         b"1,101,Comedy,R003,2,2019-03-02\n3,100,Drama,R004,3,2019-03-04\n"
    ...         b"2,102,Action,R005,1,2019-03-05\n3,102,Action,R006,4,2019-03-07\n")
    >>> report = ac.inspect_ratings(data)
    >>> report.proposal.summary()
    'user = column 1, item = column 2, rating = column 5, timestamp = column 6'
    >>> report.proposal.reasons["rating"]
    '5 distinct numbers from 1 to 5 (1, 2, 3, 4, 5): a rating scale'
    >>> ac.read_ratings(data, columns=report.proposal.columns)
    Ratings(3 users x 3 items, 6 ratings, density 66.67%)
    """
    options = _Options(
        columns=dict(columns) if columns is not None else None,
        wide=wide,
        separator=separator,
        header=header,
        max_bytes=max_bytes,
    )
    decoded = _decode(_load_source(source, max_bytes))
    dialect = _detect(decoded, options)
    report = _base_report(decoded, dialect)
    try:
        plan = _plan(dialect, options)
    except RatingsError as exc:
        report.warnings.append(str(exc))
        report.proposal = getattr(exc, "proposal", None)
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
    duplicates: str = DEFAULT_DUPLICATES
    max_bytes: int = MAX_BYTES
    fields: str = _FIELDS  # what a line holds, for messages


@dataclass
class _Decoded:
    """The file as UTF-8 text: in memory, or left on disk when it is UTF-8 already, so a large
    file is streamed to the parser instead of being held whole."""

    encoding: str
    line_ending: str = ""
    name: str | None = None  # the file's name, when it has one
    size: int = 0  # bytes as given
    utf8: bytes | None = None  # the text without a byte-order mark
    path: Path | None = None  # or a UTF-8 file (a byte-order mark at its start is skipped)
    offset: int = 0  # bytes of byte-order mark at the start of ``path``
    line_counts: _lines.LineScan | None = None  # counted while checking the encoding

    def head(self, n: int) -> bytes:
        if self.utf8 is not None:
            return self.utf8[:n]
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(self.offset)
            return f.read(n)

    def pieces(self) -> Iterator[bytes]:
        """The text in pieces of a few megabytes (never split inside a \\r\\n)."""
        if self.utf8 is not None:
            yield from _lines.chunks(io.BytesIO(self.utf8).read)
            return
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(self.offset)
            yield from _lines.chunks(f.read)

    def whole(self) -> bytes:
        if self.utf8 is not None:
            return self.utf8
        assert self.path is not None
        return self.path.read_bytes()[self.offset :]

    def stream(self) -> Any:
        """What pyarrow's CSV reader reads (it skips a UTF-8 byte-order mark itself)."""
        if self.utf8 is not None:
            return pa.BufferReader(self.utf8)
        return pa.OSFile(str(self.path))


@dataclass
class _Dialect:
    separator: str  # one of _SEPARATORS or " " (runs of spaces)
    header: bool
    names: list[str]  # header names, or "column 1".. without a header
    n_columns: int
    sample_rows: list[list[str]]  # the first lines split into fields (header included)
    decoded: _Decoded
    warnings: list[str] = field(default_factory=list)
    first_line: int = 1  # physical line of the header (or of the first row without one)
    longest_line: int = 0  # characters in the longest line sniffed

    @property
    def skip_rows(self) -> int:
        """Lines pyarrow skips: everything up to and including the header."""
        return self.first_line if self.header else 0


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
    raw = _load_source(source, options.max_bytes)
    decoded = _decode(raw)
    del raw  # a path's bytes are read again only where they are needed
    dialect = _detect(decoded, options)
    plan = _plan(dialect, options)
    report = _base_report(decoded, dialect)
    _apply_plan_to_report(report, plan, dialect)
    batches, rejects = _parse(dialect, plan)
    if plan.layout == "long":
        ratings = _long_to_ratings(batches, rejects, dialect, plan, options, report)
    else:
        ratings = _wide_to_ratings(batches, rejects, dialect, plan, options, report)
    report.n_users, report.n_items, report.n_ratings = ratings.n_users, ratings.n_items, ratings.nnz
    ratings = _with_notes(ratings, report.summary())
    return ratings, report


@dataclass
class TextTable:
    """A delimited text file read whole as text columns, with what the reader detected.

    The same detection as ``read_ratings`` (encoding, separator, header, quoting); lines with
    the wrong number of fields are skipped and listed instead of refused. For files that are
    not ratings (item names); internal to the library.
    """

    table: pa.Table  # one string column per field ("c0", "c1", ...), trimmed
    names: list[str]  # header names, or "column 1", ... without a header
    header: bool
    encoding: str
    separator_name: str
    source: str | None
    skipped: int  # lines left out: not the number of fields of the others
    skipped_examples: list[str]  # e.g. "line 7 has 3 fields"
    blank_lines: int
    first_rows: list[list[str]]  # the first lines split into fields, header included


def read_text_table(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    header: bool | None = None,
    fields: str = _FIELDS,
    max_bytes: int = MAX_BYTES,
) -> TextTable:
    """Read any delimited text table the ratings reader understands (see ``TextTable``);
    ``header`` forces whether the first line is a header (None: detect); ``fields`` says what
    a line holds, for messages ("the id and the title")."""
    decoded = _decode(_load_source(source, max_bytes))
    dialect = _detect(decoded, _Options(header=header, fields=fields))
    plan = _Plan(layout="wide", positions={}, mapped_by="")
    batches, rejects = _parse(dialect, plan)
    schema = pa.schema([(f"c{j}", pa.string()) for j in range(dialect.n_columns)])
    table = pa.Table.from_batches(list(batches), schema=schema)
    table = pa.table({name: _trimmed(table[name]) for name in table.column_names})
    lines = _Lines(dialect, rejects, table.num_rows)
    examples = [
        f"line {lines.of_parser_row(number)} has {n} field(s)"
        for number, _, n in rejects.ragged[:3]
    ]
    return TextTable(
        table=table,
        names=list(dialect.names),
        header=dialect.header,
        encoding=decoded.encoding,
        separator_name=_SEPARATOR_NAMES[dialect.separator],
        source=decoded.name,
        skipped=len(rejects.ragged),
        skipped_examples=examples,
        blank_lines=lines.blank_lines(),
        first_rows=dialect.sample_rows,
    )


# ----------------------------------------------------------------------- bytes and text
@dataclass
class _Raw:
    """The file's bytes as given: in memory, or a path not read yet."""

    name: str | None
    size: int
    data: bytes | None = None
    path: Path | None = None

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        assert self.path is not None
        with self.path.open("rb") as f:
            return f.read(n)

    def whole(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def pieces(self, start: int = 0) -> Iterator[bytes]:
        if self.data is not None:
            view = memoryview(self.data)
            for i in range(start, len(view), _lines.CHUNK_BYTES):
                yield view[i : i + _lines.CHUNK_BYTES]
            return
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(start)
            while piece := f.read(_lines.CHUNK_BYTES):
                yield piece


def _load_source(source: Any, max_bytes: int) -> _Raw:
    limit = f"{max_bytes / 2**20:,.0f} MB" if max_bytes >= 2**20 else f"{max_bytes:,} bytes"
    too_big = (
        "the file is {size} but the limit is {limit}; keep a sample of the rows, or split the file"
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
        return _Raw(name=path.name, size=size, path=path)
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
    return _Raw(name=name, size=len(data), data=data)


def _human_size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def _decode(raw: _Raw) -> _Decoded:
    head = raw.head(_SNIFF_BYTES)
    if raw.size == 0 or (raw.size <= len(head) and head.isspace()):
        raise RatingsError(
            "the file is empty; expected lines of user, item, rating (e.g. 'user,item,rating' "
            "then '1,42,4.5')"
        )
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise RatingsError(f"this looks like {what}; upload a CSV or text file of ratings")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.whole().decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RatingsError(
                f"the file starts like UTF-16 text but byte {exc.start} cannot be decoded; "
                "save it as UTF-8 CSV"
            ) from exc
        _refuse_binary(text[:65536])
        decoded = _Decoded(encoding="UTF-16", utf8=text.encode("utf-8"))
    elif head.startswith(b"\xef\xbb\xbf"):
        bad, counts = _check_utf8(raw.pieces(start=3))
        if bad is not None:
            data = raw.whole()
            line = data.count(b"\n", 0, 3 + bad) + 1
            raise RatingsError(
                f"the file starts with a UTF-8 byte-order mark but line {line} is not valid "
                f"UTF-8 (byte {bad}); re-save it as UTF-8"
            )
        decoded = _utf8_decoded(raw, "UTF-8 with BOM", offset=3)
        decoded.line_counts = counts
    elif (checked := _check_utf8(raw.pieces()))[0] is None:
        decoded = _utf8_decoded(raw, "UTF-8", offset=0)
        decoded.line_counts = checked[1]
    else:
        text, encoding = _decode_legacy(raw.whole())
        _refuse_binary(text[:65536])
        decoded = _Decoded(encoding=encoding, utf8=text.encode("utf-8"))
    if decoded.encoding.startswith("UTF-8"):
        _refuse_binary(decoded.head(4 * 65536).decode("utf-8", errors="ignore")[:65536])
    decoded.line_ending = _line_ending(decoded)
    decoded.name, decoded.size = raw.name, raw.size
    return decoded


def _utf8_decoded(raw: _Raw, encoding: str, *, offset: int) -> _Decoded:
    if raw.data is not None:
        return _Decoded(encoding=encoding, utf8=raw.data[offset:] if offset else raw.data)
    return _Decoded(encoding=encoding, path=raw.path, offset=offset)


def _check_utf8(pieces: Iterator[bytes | memoryview]) -> tuple[int | None, _lines.LineScan]:
    """(offset of the first byte that is not valid UTF-8 or None, the line counts): one pass
    over the file, a piece at a time, so a large file is never one Python string."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    bad: list[int] = []

    def checked() -> Iterator[bytes]:
        nonlocal done
        for piece in pieces:
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(piece)
            except UnicodeDecodeError as exc:
                bad.append(done - pending + exc.start)
                return
            done += len(piece)
            yield bytes(piece)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad.append(done - len(decoder.getstate()[0]))

    counts = _lines.scan(_lines.chunks(_Reader(checked()).read))
    return (bad[0] if bad else None), counts


class _Reader:
    """``read(n)`` over an iterator of byte pieces (for ``_lines.chunks``)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces

    def read(self, _: int) -> bytes:
        return next(self._pieces, b"")


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


def _line_ending(decoded: _Decoded) -> str:
    head = decoded.head(_SNIFF_BYTES)
    if b"\n" not in head and b"\r" not in head:  # a first line longer than the sniff window
        head = decoded.head(_MAX_LINE_BYTES + _SNIFF_BYTES)
        first = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
        head = head[min(first, default=0) : min(first, default=0) + _SNIFF_BYTES]
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
    data = decoded.head(_SNIFF_BYTES + 1)
    newline = b"\r" if decoded.line_ending == "CR" else b"\n"
    if data.count(newline) < 5 and len(data) > _SNIFF_BYTES:
        data = decoded.head(_MAX_LINE_BYTES + 1)
    more = len(data) < decoded.size  # the file goes on after what was read here
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
    if (more or len(data) > end) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    return numbered[:_SNIFF_LINES]


def _lines_before(decoded: _Decoded, line: int) -> tuple[int, int]:
    """(empty, whitespace-only) lines before physical line ``line`` (blank lines above a
    header: pyarrow counts the whitespace-only ones as records, the empty ones not)."""
    if line <= 1:
        return 0, 0
    head = decoded.head(_MAX_LINE_BYTES).decode("utf-8", errors="replace")
    before = _NEWLINE.split(head, maxsplit=line - 1)[: line - 1]
    empty = sum(1 for ln in before if ln == "")
    return empty, len(before) - empty


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
    separator = _choose_separator(numbered, options.separator, options.fields)
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
            f"every line has a single field (first line: {_clip(lines[0])!r}); separate "
            f"{options.fields} with a comma, semicolon, tab, pipe, spaces or '::'"
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
        first_line=numbered[0][0],
        longest_line=max(len(ln) for ln in lines),
    )


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _choose_separator(
    numbered: list[tuple[int, str]], forced: str | None, fields: str = _FIELDS
) -> str:
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
        raise RatingsError(_mixed_separators_message(numbered[:50], fields))
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


def _mixed_separators_message(numbered: list[tuple[int, str]], fields: str) -> str:
    by_separator: dict[str, list[int]] = {}
    for number, line in numbered:
        best = _best_separator(line)
        if best is not None:
            by_separator.setdefault(best[0], []).append(number)
    if len(by_separator) < 2:
        return (
            f"could not find a separator in the first lines (line {numbered[0][0]}: "
            f"{_clip(numbered[0][1])!r}); separate {fields} with a comma, "
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
                "column's name or empty); add one, or read it as one rating per line"
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
                unique = {r: h[0] for r, h in by_name.items() if len(h) == 1 and r != role}
                raise ColumnMappingError(
                    f"ambiguous {role} column: {listed} could all be it; choose which one "
                    f"holds the {role}s",
                    proposal=_proposal_from_values(dialect, {**unique, **explicit}),
                )
            positions[role] = hits[0] if hits else None
    else:
        mapped_by = "columns taken by position"
        width = dialect.n_columns
        free = [j for j in range(width) if j not in taken]
        needed = [r for r in ("user", "item", "rating") if r not in explicit]
        if width > 4 and needed and len(explicit) == 0:
            proposal = _proposal_from_values(dialect, explicit)
            suggestion = f"; the values suggest {proposal.summary()}" if proposal.complete else ""
            raise ColumnMappingError(
                f"found {width} columns and no recognised header, so which column holds the "
                f"user, the item and the rating is not certain{suggestion}. Choose the columns, "
                "or add a header row (user,item,rating[,timestamp])",
                proposal=proposal,
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
        found = {r: p for r, p in positions.items() if p is not None}
        raise ColumnMappingError(
            f"no {' / '.join(missing)} column found among {listed}; rename the header "
            "(e.g. user, item, rating) or choose the columns",
            proposal=_proposal_from_values(dialect, found),
        )
    for role in ROLES:
        positions.setdefault(role, None)
    return _Plan(layout="long", positions=positions, mapped_by=mapped_by, warnings=warnings)


def _proposal_from_values(dialect: _Dialect, fixed: dict[str, int | None]) -> MappingProposal:
    return propose(dialect.sample_rows[int(dialect.header) :], dialect.names, fixed)


def _proposal_from_plan(plan: _Plan, dialect: _Dialect) -> MappingProposal | None:
    """The mapping a read used, as a proposal with its reasons (None for a wide matrix). A
    mapping taken by position is checked against the values, which win when they disagree."""
    if plan.layout != "long":
        return None
    if plan.mapped_by == "columns taken by position":
        from_values = _proposal_from_values(dialect, {})
        if from_values.complete and from_values.columns != plan.positions:
            return from_values
    reasons = {}
    for role, pos in plan.positions.items():
        if pos is None:
            reasons[role] = "no such column"
        elif plan.mapped_by.startswith("columns as given"):
            reasons[role] = "as chosen"
        elif plan.mapped_by == "columns found by name":
            reasons[role] = f"its header {dialect.names[pos]!r} names it"
        else:
            reasons[role] = f"column {pos + 1} by position (user, item, rating, timestamp)"
    return MappingProposal(
        columns=dict(plan.positions),
        names={r: (dialect.names[p] if p is not None else None) for r, p in plan.positions.items()},
        reasons=reasons,
    )


def _base_report(decoded: _Decoded, dialect: _Dialect) -> ReadReport:
    return ReadReport(
        source=decoded.name,
        size_bytes=decoded.size,
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
    report.proposal = _proposal_from_plan(plan, dialect)
    if report.proposal is not None and report.proposal.columns != plan.positions:
        report.warnings.append(
            f"The values suggest another mapping: {report.proposal.summary()}; check the columns."
        )


# ----------------------------------------------------------------------- parsing
@dataclass
class _Rejects:
    """Lines pyarrow could not split into the expected number of fields."""

    blank: int = 0  # lines of spaces only
    ragged: list[tuple[int | None, str, int]] = field(default_factory=list)  # (row, text, n)
    rows: list[int] = field(default_factory=list)  # pyarrow record numbers of all of them


def _parse(dialect: _Dialect, plan: _Plan) -> tuple[Iterator[pa.RecordBatch], _Rejects]:
    """The table as record batches of text (a few MB of the file each), so no more than one
    batch of strings is held at a time. ``rejects`` is complete once the batches are used up.
    """
    decoded = dialect.decoded
    delimiter = dialect.separator
    if delimiter == "::":
        data = decoded.whole().replace(b"::", _UNIT_SEPARATOR.encode())
        decoded = replace(decoded, utf8=data, path=None, offset=0)
        delimiter = _UNIT_SEPARATOR
    elif delimiter == " " and _needs_space_collapsing(data := decoded.whole()):
        data = re.sub(rb"[ \t]+", _UNIT_SEPARATOR.encode(), data)
        data = re.sub(rb"(?m)^\x1f|\x1f(?=\r?$)", b"", data)
        decoded = replace(decoded, utf8=data, path=None, offset=0)
        delimiter = _UNIT_SEPARATOR
    # (single spaces only, with none at the ends of lines: pyarrow splits on " " directly)
    dialect.decoded = decoded  # the text pyarrow sees, for line numbers later
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
            rejects.rows.append(int(row.number))
        return "skip"

    # The unit separator (or a chosen separator) has no quoting in the '::' and spaces dialects.
    quoting = dialect.separator not in ("::", " ")
    options = {
        "read_options": pacsv.ReadOptions(
            column_names=names,
            skip_rows=dialect.skip_rows,
            use_threads=False,  # row numbers of bad lines are only known single-threaded
            # A block must hold whole lines: room for the longest line sniffed, many times.
            block_size=max(_BLOCK_BYTES, 8 * dialect.longest_line),
        ),
        "parse_options": pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char='"' if quoting else False,
            # A quoted line break may fall on a block boundary: let the chunker see quotes.
            newlines_in_values=quoting,
            invalid_row_handler=on_invalid,
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=keep,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    return _batches(decoded, options, dialect.separator), rejects


def _batches(
    decoded: _Decoded, options: dict[str, Any], separator: str
) -> Iterator[pa.RecordBatch]:
    try:
        with decoded.stream() as stream:
            yield from pacsv.open_csv(stream, **options)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise RatingsError(
            f"could not parse the file as a {_SEPARATOR_NAMES[separator]}-separated "
            f"table: {str(exc).splitlines()[0]}; check quotes and separators"
        ) from exc


def _needs_space_collapsing(data: bytes) -> bool:
    doubled = b"  " in data or b"\t" in data
    at_line_ends = b"\n " in data or data.startswith(b" ") or b" \n" in data or b" \r" in data
    return doubled or at_line_ends


class _Lines:
    """Physical line numbers (1 = first line) of parsed rows, and the blank-line count.

    pyarrow numbers records from 1: the skipped lines above the data (the header and any blank
    lines above it) one each, then every non-empty line or quoted multi-line record. A table
    row is a record that was not rejected. Lines are found by scanning the text only when a
    message needs them (``_lines``).
    """

    def __init__(self, dialect: _Dialect, rejects: _Rejects, table_rows: int) -> None:
        self._decoded = dialect.decoded
        self._separator = dialect.separator
        self._skip = dialect.skip_rows
        _, self._spaces_above = _lines_before(dialect.decoded, self._skip)
        self._skipped_nonempty = self._spaces_above + 1 if self._skip else 0
        self._rejects = rejects
        self._records = self._skip + table_rows + len(rejects.rows)
        self._scan: _lines.LineScan | None = None

    def _counts(self) -> _lines.LineScan:
        if self._scan is None:
            self._scan = self._decoded.line_counts or _lines.scan(self._decoded.pieces())
        return self._scan

    def blank_lines(self) -> int:
        """Empty lines plus lines of spaces only (pyarrow's rejects, and any above a header)."""
        return self._counts().empty + self._rejects.blank + self._spaces_above

    def _spans_lines(self) -> bool:
        """Whether some quoted record spans several lines (then lines != records)."""
        scan = self._counts()
        return scan.lines - scan.empty > self._records - self._skip + self._skipped_nonempty

    def of_records(self, records: np.ndarray) -> np.ndarray:
        records = np.asarray(records, dtype=np.int64)
        # Record p > skip is the (p - skip)-th non-empty line after the skipped ones.
        nonempty = records - self._skip + self._skipped_nonempty
        if self._separator in (",", ";", "\t", "|") and self._spans_lines():
            starts = _lines.record_starts_by_csv(
                self._decoded.whole(), nonempty, delimiter=self._separator
            )
        else:
            starts = _lines.scan(self._decoded.pieces(), nonempty).starts
        return np.array([starts.get(int(q), -1) for q in nonempty], dtype=np.int64)

    def records_of_table_rows(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        excluded = np.concatenate(
            [np.arange(1, self._skip + 1), np.sort(np.asarray(self._rejects.rows, np.int64))]
        )
        gaps = excluded - np.arange(len(excluded)) - 1
        return rows + 1 + np.searchsorted(gaps, rows, side="right")

    def of_table_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.of_records(self.records_of_table_rows(rows))

    def of_parser_row(self, number: int | None) -> int | None:
        if number is None:
            return None
        line = int(self.of_records(np.array([number]))[0])
        return line if line > 0 else None


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
        else "fix those lines" + (", or skip invalid rows" if drop_hint else "")
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


def _ids(labels: pa.Array | pd.Index) -> tuple[np.ndarray, str]:
    """Labels as int64 when every one is a plain integer, else as text; and which it was."""
    if isinstance(labels, pa.Array) and pa.types.is_integer(labels.type):
        return labels.to_numpy(zero_copy_only=False).astype(np.int64), "integer"
    if not isinstance(labels, pa.Array):
        labels = pa.array(pd.Series(labels, dtype="str"), type=pa.string())
    if len(labels) and pc.all(pc.match_substring_regex(labels, _PLAIN_INTEGER.pattern)).as_py():
        return pc.cast(labels, pa.int64()).to_numpy(), "integer"
    return np.asarray(labels.to_numpy(zero_copy_only=False), dtype=object), "text"


@dataclass
class _Problem:
    """Rows with one kind of bad value: how many, and the first few (row, text shown)."""

    what: str  # e.g. "rating(s) in {column} are not finite numbers"
    column: str
    count: int = 0
    examples: list[tuple[int, str | None]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # of the examples, once described

    def add(self, mask: np.ndarray, offset: int, text: pa.Array | None = None) -> None:
        n = int(np.count_nonzero(mask))
        if not n:
            return
        for row in np.flatnonzero(mask)[: _MAX_EXAMPLES - len(self.examples)]:
            shown = None if text is None else str(text[int(row)].as_py())
            self.examples.append((offset + int(row), shown))
        self.count += n

    def describe(self, lines: _Lines) -> str:
        # e.g. "3 rating(s) in 'rating' (column 3) are not ...: line 4 'abc', line 9 ''"
        where = lines.of_table_rows(np.array([row for row, _ in self.examples]))
        self.lines = [int(ln) for ln in where]
        parts = [
            f"line {line}" + ("" if shown is None else f" {_clip(shown, 30)!r}")
            for line, (_, shown) in zip(where, self.examples, strict=True)
        ]
        more = ", …" if self.count > len(self.examples) else ""
        return f"{self.count:,} {self.what.format(column=self.column)}: {', '.join(parts)}{more}"


def _column_label(dialect: _Dialect, position: int) -> str:
    if dialect.header:
        return f"{dialect.names[position]!r} (column {position + 1})"
    return f"column {position + 1}"


# ----------------------------------------------------------------------- long form
@dataclass
class _Labels:
    """One id column, collected batch by batch without a Python string per row.

    Ids that are all plain integers (the common case) stay int64 and are factorised a few
    million rows at a time, several times faster than hashing their text; any other id keeps
    its text through Arrow's dictionary encoding. Either way each group of rows leaves int32
    codes into its own labels, and ``unify`` maps those onto one list of labels numbered in
    order of first appearance.
    """

    codes: list[np.ndarray] = field(default_factory=list)  # int32, per group of rows
    labels: list[pa.Array] = field(default_factory=list)  # the labels of each group
    pending: list[np.ndarray] = field(default_factory=list)  # int64 ids not factorised yet
    pending_rows: int = 0
    integer: bool = True

    def add(self, text: pa.Array) -> None:
        numbers = _plain_integers(text) if self.integer else None
        if numbers is not None:
            self.pending.append(numbers)
            self.pending_rows += len(numbers)
            if self.pending_rows >= _GROUP_ROWS:
                self._flush()
            return
        if self.integer:  # text after all: what came before becomes text too
            self._flush()
            self.integer = False
            self.labels = [pc.cast(labels, pa.string()) for labels in self.labels]
        encoded = pc.dictionary_encode(text)
        self.codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32))
        self.labels.append(encoded.dictionary)

    def _flush(self) -> None:
        if not self.pending:
            return
        ids = np.concatenate(self.pending)
        self.pending, self.pending_rows = [], 0
        codes, labels = pd.factorize(ids)
        del ids
        self.codes.append(codes.astype(np.int32))
        self.labels.append(pa.array(labels, type=pa.int64()))

    def unify(self) -> tuple[np.ndarray, pa.Array]:
        self._flush()
        kind = pa.int64() if self.integer else pa.string()
        if not self.labels:
            return np.zeros(0, dtype=np.int32), pa.array([], kind)
        every = pa.chunked_array(self.labels, type=kind)
        if self.integer:
            positions, unique = pd.factorize(every.to_numpy())
            labels = pa.array(unique, type=kind)
        else:
            labels = pc.unique(every)
            positions = pc.index_in(every, value_set=labels).to_numpy(zero_copy_only=False)
        positions = positions.astype(np.int32)
        out, start = [], 0
        for codes, group_labels in zip(self.codes, self.labels, strict=True):
            out.append(positions[start : start + len(group_labels)][codes])
            start += len(group_labels)
        self.codes, self.labels = [], []
        return np.concatenate(out), labels


def _plain_integers(text: pa.Array) -> np.ndarray | None:
    """The values as int64 if every one is written as a plain integer ("7", not "007" or
    "7.0", which stay text), else None."""
    try:
        numbers = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not pc.all(pc.equal(pc.cast(numbers, pa.string()), text)).as_py() and len(text):
        return None
    return numbers.to_numpy(zero_copy_only=False)


def _long_to_ratings(
    batches: Iterator[pa.RecordBatch],
    rejects: _Rejects,
    dialect: _Dialect,
    plan: _Plan,
    options: _Options,
    report: ReadReport,
) -> Ratings:
    pos = plan.positions
    col = {role: f"c{p}" for role, p in pos.items() if p is not None}
    name = {role: _column_label(dialect, p) for role, p in pos.items() if p is not None}
    no_user = _Problem("row(s) have no user id in {column}", name["user"])
    no_item = _Problem("row(s) have no item id in {column}", name["item"])
    bad_rating = _Problem(
        "rating(s) in {column} are not finite numbers (empty, text, NaN or infinite)",
        name["rating"],
    )
    too_large = _Problem(_TOO_LARGE, name["rating"])
    bad_time = _Problem(
        "timestamp(s) in {column} are neither numbers nor dates", name.get("timestamp", "")
    )
    users, items = _Labels(), _Labels()
    values_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    invalid_parts: list[np.ndarray] = []
    n_rows = 0
    for batch in batches:
        user_text = _trimmed(batch.column(col["user"]))
        item_text = _trimmed(batch.column(col["item"]))
        rating_text = _trimmed(batch.column(col["rating"]))
        values, decimal_comma = _to_float(rating_text, dialect.separator)
        report.decimal_comma |= decimal_comma
        missing_user = pc.equal(user_text, "").to_numpy(zero_copy_only=False)
        missing_item = pc.equal(item_text, "").to_numpy(zero_copy_only=False)
        not_finite = ~np.isfinite(values)
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > MAX_ABS_RATING
        no_user.add(missing_user, n_rows)
        no_item.add(missing_item, n_rows)
        bad_rating.add(not_finite, n_rows, rating_text)
        too_large.add(huge, n_rows, rating_text)
        invalid = missing_user | missing_item | not_finite | huge
        if "timestamp" in col:
            time_text = _trimmed(batch.column(col["timestamp"]))
            times, unreadable = _parse_timestamps(time_text)
            bad_time.add(unreadable, n_rows, time_text)
            invalid |= unreadable
            time_parts.append(times)
        users.add(user_text)
        items.add(item_text)
        values_parts.append(values)
        invalid_parts.append(invalid)
        n_rows += batch.num_rows
    # Drop the last batch's text now: what follows holds only numbers.
    batch = user_text = item_text = rating_text = time_text = None  # type: ignore[assignment]
    lines = _Lines(dialect, rejects, n_rows)
    report.blank_lines = lines.blank_lines()
    if rejects.ragged:
        message = _ragged_message(rejects, lines, dialect.n_columns, "long", drop_hint=True)
        if not options.drop_invalid:
            raise InvalidRowsError(
                message,
                count=len(rejects.ragged),
                lines=tuple(
                    ln
                    for num, _, _ in rejects.ragged[:_MAX_EXAMPLES]
                    if (ln := lines.of_parser_row(num)) is not None
                ),
            )
        report.rows_dropped += len(rejects.ragged)
        report.dropped_examples.extend(
            f"line {lines.of_parser_row(num)} has {n} fields" for num, _, n in rejects.ragged[:3]
        )
    report.rows_read = n_rows + len(rejects.ragged)
    if n_rows == 0:
        raise RatingsError(
            "the file has a header but no ratings below it"
            if dialect.header
            else "the file has no rows that could be read"
        )
    values = np.concatenate(values_parts)
    timestamps = np.concatenate(time_parts) if time_parts else None
    invalid = np.concatenate(invalid_parts)
    del values_parts, time_parts, invalid_parts
    user_codes, user_labels = users.unify()
    item_codes, item_labels = items.unify()
    problems = [p for p in (no_user, no_item, bad_rating, too_large, bad_time) if p.count]
    kept_rows = None
    if problems:
        described = [p.describe(lines) for p in problems]
        if not options.drop_invalid:
            raise InvalidRowsError(
                "; ".join(described) + ". Fix or remove those lines, or skip invalid rows",
                count=int(invalid.sum()),
                lines=tuple(sorted({ln for p in problems for ln in p.lines})),
            )
        report.rows_dropped += int(invalid.sum())
        report.dropped_examples.extend(described)
        kept_rows = np.flatnonzero(~invalid)
        values = values[kept_rows]
        if timestamps is not None:
            timestamps = timestamps[kept_rows]
        user_codes, user_labels = _renumber(user_codes[kept_rows], user_labels)
        item_codes, item_labels = _renumber(item_codes[kept_rows], item_labels)
    del invalid
    if len(values) == 0:
        raise RatingsError(
            "no valid ratings are left after dropping the invalid rows; check the column "
            "mapping and the rating column"
        )
    user_ids, report.id_types["user"] = _ids(user_labels)
    item_ids, report.id_types["item"] = _ids(item_labels)
    obs = _Observations(
        key=_keys(user_codes, item_codes, len(item_ids)),
        values=values,
        timestamps=timestamps,
        n_users=len(user_ids),
        n_items=len(item_ids),
    )
    del user_codes, item_codes, values, timestamps

    def locate(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        rows = positions if kept_rows is None else kept_rows[positions]
        return rows, lines.of_table_rows(rows), ()

    return _assemble(obs, user_ids, item_ids, options, report, locate)


def _renumber(codes: np.ndarray, labels: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Keep only the labels ``codes`` use, numbered in order of first appearance."""
    used, first = np.unique(codes, return_index=True)
    order = used[np.argsort(first, kind="stable")]
    new_code = np.empty(len(labels), dtype=np.int32)
    new_code[order] = np.arange(len(order), dtype=np.int32)
    return new_code[codes], labels.take(pa.array(order))


def _parse_timestamps(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Seconds (float64) from numbers or dates, and which values are neither."""
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        return values, ~np.isfinite(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    series = text.to_pandas()
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().mean() > 0.5:
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, ~np.isfinite(values)
    dates = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    seconds = (dates - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    values = seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, ~np.isfinite(values)


# ----------------------------------------------------------------------- wide form
def _wide_to_ratings(
    batches: Iterator[pa.RecordBatch],
    rejects: _Rejects,
    dialect: _Dialect,
    plan: _Plan,
    options: _Options,
    report: ReadReport,
) -> Ratings:
    # A matrix is read whole: its size is bounded by the upload limit and it has no ids to
    # repeat, so the batches add nothing here.
    schema = pa.schema([(f"c{j}", pa.string()) for j in range(dialect.n_columns)])
    table = pa.Table.from_batches(list(batches), schema=schema)
    lines = _Lines(dialect, rejects, table.num_rows)
    report.blank_lines = lines.blank_lines()
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
    with np.errstate(invalid="ignore"):
        huge = np.abs(values) > MAX_ABS_RATING
    bad = filled & ~np.isfinite(values)
    n_bad = int(bad.sum())
    observed = filled & np.isfinite(values) & ~huge
    if options.zero_is_missing:
        zero = observed & (values == 0)
        report.zeros_dropped = int(zero.sum())
        observed &= ~zero
    problems = []
    bad_lines: list[int] = []

    def cells_at(mask: np.ndarray) -> str:
        """ "line 4, column 'B': 'x'; ..." for the first few cells of ``mask``."""
        flat = np.flatnonzero(mask)[:_MAX_EXAMPLES]
        k, r = np.divmod(flat, n_rows)
        where = lines.of_table_rows(r)
        bad_lines.extend(int(ln) for ln in where)
        return "; ".join(
            f"line {ln}, column {dialect.names[item_pos[kk]]!r}: "
            f"{_clip(str(cells[int(f)].as_py()), 30)!r}"
            for ln, kk, f in zip(where, k, flat, strict=True)
        )

    if n_bad:
        problems.append(f"{n_bad:,} cell(s) are not finite numbers ({cells_at(bad)})")
    if huge.any():
        problems.append(
            f"{int(huge.sum()):,} cell(s) are larger in size than {MAX_ABS_RATING:g}, the most a "
            f"rating may be ({cells_at(huge)})"
        )
        n_bad += int(huge.sum())
    if no_user.any():
        missing = _Problem("row(s) have no user id in {column}", _column_label(dialect, user_pos))
        missing.add(no_user, 0)
        problems.append(missing.describe(lines))
        bad_lines.extend(missing.lines)
    if problems:
        if not options.drop_invalid:
            raise InvalidRowsError(
                "; ".join(problems)
                + ". Leave a cell empty for a missing rating, fix the cells, or skip invalid "
                "cells",
                count=n_bad + int(no_user.sum()),
                lines=tuple(sorted(set(bad_lines))),
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
    obs = _Observations(
        key=_keys(user_codes_all[rows], item_codes_all[cols], len(item_ids)),
        values=vals,
        timestamps=None,
        n_users=len(user_ids),
        n_items=len(item_ids),
    )
    del vals

    def locate(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        cells = tuple(dialect.names[item_pos[c]] for c in cols[positions])
        return rows[positions], lines.of_table_rows(rows[positions]), cells

    return _assemble(obs, user_ids, item_ids, options, report, locate)


# ----------------------------------------------------------------------- shared tail
@dataclass
class _Observations:
    """The ratings read, one entry per table row kept; handed over to ``_assemble``, which
    frees each array as soon as it is used (a large file's peak memory is set here)."""

    key: np.ndarray | None  # user code * n_items + item code (int64)
    values: np.ndarray | None
    timestamps: np.ndarray | None
    n_users: int
    n_items: int


def _keys(user_codes: np.ndarray, item_codes: np.ndarray, n_items: int) -> np.ndarray:
    key = np.asarray(user_codes, dtype=np.int64) * n_items
    key += item_codes
    return key


def _assemble(
    obs: _Observations,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    options: _Options,
    report: ReadReport,
    locate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, tuple[str, ...]]],
) -> Ratings:
    """Sort the observations by (user, item), merge repeated pairs, build the CSR matrix.

    ``locate(positions)`` gives the table rows, the lines and (for a matrix) the columns of
    observations.
    """
    n_users, n_items = obs.n_users, obs.n_items
    assert obs.key is not None and obs.values is not None
    order, key = _sort_keys(obs.key)
    obs.key = None
    values = obs.values[order]
    obs.values = None
    timestamps = None if obs.timestamps is None else obs.timestamps[order]
    obs.timestamps = None
    new_pair = np.empty(len(key), dtype=bool)
    new_pair[:1] = True
    np.not_equal(key[1:], key[:-1], out=new_pair[1:])
    if not new_pair.all():
        starts = np.flatnonzero(new_pair)
        del new_pair
        sizes = np.diff(starts, append=len(key))
        note = _duplicate_note(key, order, starts, sizes, values, user_ids, item_ids, options)
        rows, lines, columns = locate(np.array(note.rows, dtype=np.int64))
        note = replace(
            note,
            rows=tuple(int(r) for r in rows),
            lines=tuple(int(ln) for ln in lines),
            columns=columns,
        )
        if options.duplicates == "error":
            raise duplicate_error(note)
        report.duplicates = note
        report.duplicate_pairs = note.pairs
        report.duplicate_rows_merged = int(len(key) - len(starts))
        report.duplicate_policy = {
            "last": "the last rating",
            "first": "the first rating",
            "mean": "the mean rating",
        }[options.duplicates]
        del order
        if options.duplicates == "mean":
            values = np.add.reduceat(values, starts)
            values /= sizes
            if timestamps is not None:
                timestamps = np.maximum.reduceat(timestamps, starts)
        else:
            pick = starts if options.duplicates == "first" else starts + (sizes - 1)
            values = values[pick]
            if timestamps is not None:
                timestamps = timestamps[pick]
            del pick
        del sizes
        key = key[starts]
        del starts
    else:
        del order, new_pair
    # Rows are sorted, so where each user's entries begin is a search, not a count.
    indptr = np.searchsorted(key, np.arange(n_users + 1, dtype=np.int64) * n_items)
    index_type = np.int32 if n_items < 2**31 else np.int64
    indices = (key % n_items).astype(index_type)
    del key
    present_users = int(np.count_nonzero(np.diff(indptr)))
    present_items = int(np.count_nonzero(np.bincount(indices, minlength=n_items)))
    if present_users < 2 or present_items < 2:
        raise RatingsError(
            f"found {present_users} user(s) and {present_items} item(s) with ratings; ALS needs "
            "at least 2 of each. Check the column mapping (is the user column really the user?)"
        )
    matrix = sp.csr_matrix(
        (np.asarray(values, dtype=np.float64), indices, indptr), shape=(n_users, n_items)
    )
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return Ratings(
        matrix=matrix,
        user_ids=user_ids,
        item_ids=item_ids,
        timestamps=None if timestamps is None else np.asarray(timestamps, np.float64),
    )


def _sort_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, sorted keys), stable, so "first" and "last" follow the file.

    When key and position fit in 63 bits together, they are packed into one int64 and
    sorted in place: several times faster than a stable argsort, and one array less.
    """
    n = len(key)
    position_bits = max(1, (n - 1).bit_length())
    if int(key.max(initial=0)).bit_length() + position_bits > 63:
        order = np.argsort(key, kind="stable")
        return order, key[order]
    packed = np.left_shift(key, position_bits, out=key)
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    order = packed & ((1 << position_bits) - 1)
    return order, np.right_shift(packed, position_bits, out=packed)


def _duplicate_note(
    key: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    values: np.ndarray,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    options: _Options,
) -> DuplicateNote:
    """The repeated pairs, with the one whose second rating comes first in the file."""
    groups = np.flatnonzero(sizes > 1)
    second = order[starts[groups] + 1]  # stable sort: a group's entries are in file order
    group = int(groups[np.argmin(second)])
    span = slice(int(starts[group]), int(starts[group] + sizes[group]))
    n_items = len(item_ids)
    code = int(key[span.start])
    return DuplicateNote(
        pairs=len(groups),
        rows_merged=int(sizes[groups].sum()) - len(groups),
        policy=options.duplicates,
        user=_plain(user_ids[code // n_items]),
        item=_plain(item_ids[code % n_items]),
        values=tuple(float(v) for v in values[span]),
        rows=tuple(int(r) for r in order[span]),
    )


def _with_notes(ratings: Ratings, notes: Sequence[str]) -> Ratings:
    return replace(ratings, notes=(*ratings.notes, *notes))
