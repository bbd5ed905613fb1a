"""Names for items (and users) from a second file, read with the same tolerant reader.

Public rating sets ship the ratings and the names of what was rated as two files: MovieLens
``movies.csv`` (movieId, title, genres split on ``|``) and 100K's ``u.item`` (``|``-separated,
Latin-1, no header, the title in column 2 and 19 genre flags), goodbooks ``books.csv`` (book_id,
title, authors and many more), Book-Crossing ``BX-Books.csv`` (``;``, quoted, Latin-1, ISBNs
that are text with leading zeros and an X). ``read_item_names`` finds in such a file:

- the *id* column: given the ratings' item ids, the column whose values match most of them
  (ids are compared as written, so "0195153448" stays text and 7 matches "7"); otherwise the
  column named like an id, else the first column;
- the *title* column: one named title or name, else the text column that looks most like
  titles (letters and spaces, nearly all different; not a date, a URL or a number);
- an optional *category* column: one named genres, genre, category, tags …, its values split
  on ``|``; or a run of 0/1 flag columns (u.item's 19 genres) whose names become categories.

Lines with the wrong number of fields are skipped and counted (a names file is optional: it
never stops a reading). ``Ratings.with_item_names`` attaches the result as ``item_info``
(``title``, ``genres``, ``genre``), which the app, the exports and saved models already show.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import NamesColumnError, RatingsError
from .io import _ALIASES, MAX_BYTES, _ids, _normalise, read_text_table
from .movielens import ML100K_GENRES

_TITLE_NAMES = (
    "title", "name", "booktitle", "movietitle", "itemname", "productname", "songname",
    "titles", "names", "label", "originaltitle", "fullname", "username", "displayname",
)  # fmt: skip
_CATEGORY_NAMES = (
    "genres", "genre", "category", "categories", "tags", "tag", "subjects", "subject",
    "kind", "type", "section",
)  # fmt: skip
_NO_CATEGORY = {"", "(no genres listed)", "(none)", "none", "unknown"}
_MIN_FLAG_COLUMNS = 5
_EXAMPLES = 5
_ENTITY = r"&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);"
_DATE = re.compile(r"^\d{1,4}[-/.][A-Za-z0-9]{1,3}[-/.]\d{1,4}$")


@dataclass
class NamesReport:
    """What ``read_item_names`` / ``read_user_names`` found and matched.

    Attributes
    ----------
    source, encoding, separator_name, header :
        The file and its dialect, as the ratings reader detected them.
    kind : {"item", "user"}
    id_column, title_column : str
        The columns used (header names, or "column 3" without a header).
    category_column : str or None
        The category column, "N flag columns (…)" for 0/1 flags, or None.
    columns : list of str
        Every column of the file (header names, or "column 1", … without a header): what a
        caller offers to choose from when the guess is wrong.
    positions : dict
        ``id``, ``title`` and (a single category column) ``category`` -> the 0-based position
        of the column used, in ``columns``.
    title_certain : bool
        True when the title column was chosen by the caller or is named like one ("title",
        "name", …); False when it was picked from the values alone (text that looks most like
        titles), which deserves a check: read again with ``title_column=`` to choose.
    reasons : dict
        ``id``, ``title``, ``categories`` -> why that column, in plain words.
    rows_read, rows_skipped, blank_lines : int
        Rows of names read; lines left out because they had the wrong number of fields
        (``skipped_examples`` says which); empty lines.
    named : int
        Distinct ids with a non-empty title.
    repeated_ids : int
        Ids listed more than once (the first title is kept).
    matched, unnamed, unmatched : int or None
        With the ratings' ids given: rated ids that got a name, rated ids without one (they
        keep their id), and names whose id matches no rated id (``unmatched_examples``).
    warnings : list of str
    """

    source: str | None = None
    encoding: str = ""
    separator_name: str = ""
    header: bool = False
    kind: str = "item"
    id_column: str = ""
    title_column: str = ""
    category_column: str | None = None
    columns: list[str] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    title_certain: bool = False
    reasons: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    blank_lines: int = 0
    named: int = 0
    repeated_ids: int = 0
    matched: int | None = None
    unnamed: int | None = None
    unmatched: int | None = None
    unmatched_examples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """The report as short sentences for a UI or a log."""
        things = f"{self.kind}s"
        lines = [
            f"Encoding {self.encoding}, separator {self.separator_name}, "
            f"{'a header row' if self.header else 'no header row'}; ids in "
            f"{self.id_column!r}, {'names' if self.kind == 'user' else 'titles'} in "
            f"{self.title_column!r}"
            + (f", categories from {self.category_column}" if self.category_column else "")
            + ".",
            f"{self.named:,} named {things} in {self.rows_read:,} rows.",
        ]
        if self.matched is not None:
            lines.append(
                f"{self.matched:,} of {self.matched + (self.unnamed or 0):,} rated {things} got "
                f"a name; {self.unnamed:,} keep their id."
            )
            if self.unmatched:
                lines.append(
                    f"{self.unmatched:,} name(s) match no rated {self.kind} (e.g. "
                    f"{', '.join(self.unmatched_examples[:3])})."
                )
        if self.repeated_ids:
            lines.append(f"{self.repeated_ids:,} id(s) are listed more than once; kept the first.")
        if self.rows_skipped:
            lines.append(
                f"Skipped {self.rows_skipped:,} line(s) with the wrong number of fields ("
                + "; ".join(self.skipped_examples[:3])
                + ")."
            )
        lines.extend(self.warnings)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values."""
        return asdict(self)


@dataclass
class Names:
    """Names read from a file: ``table`` (one row per id: ``title`` or ``name``, and
    ``genres`` / ``genre`` when the file has categories) and the ``report`` of how."""

    table: pd.DataFrame
    report: NamesReport


def read_item_names(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    item_ids: np.ndarray | list[Any] | None = None,
    id_column: str | int | None = None,
    title_column: str | int | None = None,
    category_column: str | int | bool | None = None,
    max_bytes: int = MAX_BYTES,
) -> Names:
    """Read item titles (and categories) from a names file.

    Parameters
    ----------
    source : path, bytes or binary file object
        The names file (any dialect ``read_ratings`` reads).
    item_ids : array-like, optional
        The ratings' item ids (``ratings.item_ids``): the id column is the one whose values
        match most of them, and the report counts matches; without them, the column named
        like an id (else the first).
    id_column, title_column, category_column : str or int, optional
        Choose a column by header name or 0-based position instead of detecting it;
        ``category_column=False`` reads no categories. When the title column is not named like
        one, ``report.title_certain`` is False and ``report.columns`` lists what to choose from.
    max_bytes : int, default ``MAX_UPLOAD_MB`` megabytes
        Refuse larger files.

    Returns
    -------
    Names
        ``table`` indexed by item id (the ratings' ids and their type when ``item_ids`` is
        given, only those that were rated), with ``title`` and, when found, ``genres`` (the
        categories joined with ``|``) and ``genre`` (the first); ``report`` (``NamesReport``).

    Raises
    ------
    NamesColumnError
        No column of text to use as titles (its ``report`` lists the file's columns).
    RatingsError
        A file that is not a table or has a single column; a chosen column that is not there.

    Examples
    --------
    >>> import als_core as ac
    >>> ratings = ac.read_ratings(b"userId,movieId,rating\\n1,1,4\\n1,2,5\\n2,1,3\\n2,3,2\\n")
    >>> movies = (b'movieId,title,genres\\n1,Toy Story (1995),Adventure|Animation\\n'
    ...           b'2,"American President, The (1995)",Comedy|Drama|Romance\\n'
    ...           b'99,Heat (1995),Action\\n')
    >>> names = ac.read_item_names(movies, item_ids=ratings.item_ids)
    >>> names.table
                                  title                   genres      genre
    id
    1                  Toy Story (1995)      Adventure|Animation  Adventure
    2  American President, The (1995)  Comedy|Drama|Romance     Comedy
    >>> names.report.matched, names.report.unnamed, names.report.unmatched
    (2, 1, 1)
    >>> ratings.with_item_names(names).item_info["title"].tolist()
    ['Toy Story (1995)', 'American President, The (1995)', nan]
    """
    return _read_names(
        source,
        kind="item",
        ids=item_ids,
        id_column=id_column,
        title_column=title_column,
        category_column=category_column,
        max_bytes=max_bytes,
    )


def read_user_names(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes],
    *,
    user_ids: np.ndarray | list[Any] | None = None,
    id_column: str | int | None = None,
    name_column: str | int | None = None,
    max_bytes: int = MAX_BYTES,
) -> Names:
    """Read user names from a file, as ``read_item_names`` reads titles.

    Parameters
    ----------
    source : path, bytes or binary file object
        The names file.
    user_ids : array-like, optional
        The ratings' user ids (``ratings.user_ids``), to find the id column and count matches.
    id_column, name_column : str or int, optional
        Choose a column by header name or 0-based position.
    max_bytes : int, default ``MAX_UPLOAD_MB`` megabytes
        Refuse larger files.

    Returns
    -------
    Names
        ``table`` indexed by user id with a ``name`` column; ``report`` (``NamesReport``).

    Raises
    ------
    RatingsError
        As ``read_item_names``.

    Examples
    --------
    >>> import als_core as ac
    >>> ratings = ac.read_ratings(b"user,item,rating\\n7,1,4\\n7,2,5\\n9,1,3\\n9,2,2\\n")
    >>> people = ac.read_user_names(b"id,name\\n7,Ada\\n9,Grace\\n", user_ids=ratings.user_ids)
    >>> ratings.with_user_names(people).user_info["name"].tolist()
    ['Ada', 'Grace']
    """
    return _read_names(
        source,
        kind="user",
        ids=user_ids,
        id_column=id_column,
        title_column=name_column,
        category_column=None,
        max_bytes=max_bytes,
    )


# --------------------------------------------------------------------------------- internals
def _read_names(
    source: Any,
    *,
    kind: str,
    ids: Any,
    id_column: str | int | None,
    title_column: str | int | None,
    category_column: str | int | bool | None,
    max_bytes: int,
) -> Names:
    fields = f"the id and the {'name' if kind == 'user' else 'title'}"
    text = read_text_table(source, fields=fields, max_bytes=max_bytes)
    chosen = [c for c in (id_column, title_column, category_column) if isinstance(c, str)]
    if not text.header and chosen and all(c in text.first_rows[0] for c in chosen):
        # Columns chosen by name name the first line's fields: it is a header after all.
        text = read_text_table(source, header=True, fields=fields, max_bytes=max_bytes)
    if len(text.names) < 2:
        raise RatingsError("a names file needs at least two columns: the id and the name")
    columns = [text.table[f"c{j}"] for j in range(len(text.names))]
    report = NamesReport(
        source=text.source,
        encoding=text.encoding,
        separator_name=text.separator_name,
        header=text.header,
        kind=kind,
        rows_read=text.table.num_rows,
        rows_skipped=text.skipped,
        skipped_examples=text.skipped_examples,
        blank_lines=text.blank_lines,
        columns=list(text.names),
    )
    rated = None if ids is None else np.asarray(ids)
    rated_text = None if rated is None else pa.array([str(x) for x in rated], pa.string())
    used: set[int] = set()
    id_pos = _choose_id(text.names, columns, rated_text, id_column, kind, report)
    used.add(id_pos)
    flags = [] if kind == "user" else _flag_run(text, columns, exclude={id_pos})
    title_pos = _choose_title(text.names, columns, title_column, used | set(flags), kind, report)
    used.add(title_pos)
    categories = None
    if kind == "item":
        categories = _categories(text, columns, category_column, used, flags, report)
    table = _build_table(columns[id_pos], columns[title_pos], categories, kind, report)
    table = _match(table, rated, rated_text, report)
    return Names(table=table, report=report)


def _position(ref: str | int, names: list[str], what: str) -> int:
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        if 0 <= int(ref) < len(names):
            return int(ref)
    else:
        exact = [j for j, n in enumerate(names) if n == ref]
        loose = [j for j, n in enumerate(names) if n.strip().lower() == str(ref).strip().lower()]
        if exact or loose:
            return (exact or loose)[0]
    raise RatingsError(
        f"the {what} column {ref!r} is not in the names file; its columns are {names}"
    )


def _choose_id(
    names: list[str],
    columns: list[pa.ChunkedArray],
    rated_text: pa.Array | None,
    given: str | int | None,
    kind: str,
    report: NamesReport,
) -> int:
    if given is not None:
        pos = _position(given, names, "id")
        report.reasons["id"] = "as chosen"
    elif rated_text is not None:
        matches = [
            int(pc.sum(pc.is_in(pc.unique(col), value_set=rated_text)).as_py() or 0)
            for col in columns
        ]
        best = int(np.argmax(matches))
        if matches[best] > 0:
            pos = best
            report.reasons["id"] = (
                f"its values match {matches[best]:,} of the {len(rated_text):,} rated {kind} ids"
            )
        else:
            pos = _id_by_name(names, kind)
            example = ", ".join(str(x) for x in rated_text.slice(0, 3).to_pylist())
            report.warnings.append(
                f"No column of the names file holds the ratings' {kind} ids (such as "
                f"{example}); is it the right file?"
            )
            report.reasons["id"] = "no column matches the rated ids; " + (
                "named like an id" if _is_id_name(names[pos], kind) else "the first column"
            )
    else:
        pos = _id_by_name(names, kind)
        report.reasons["id"] = (
            "named like an id" if _is_id_name(names[pos], kind) else ("the first column")
        )
    report.id_column = names[pos]
    report.positions["id"] = pos
    return pos


def _is_id_name(name: str, kind: str) -> bool:
    key = _normalise(name)
    return key in _ALIASES[kind] or key == "id"


def _id_by_name(names: list[str], kind: str) -> int:
    for j, name in enumerate(names):
        if _is_id_name(name, kind):
            return j
    return 0


def _choose_title(
    names: list[str],
    columns: list[pa.ChunkedArray],
    given: str | int | None,
    exclude: set[int],
    kind: str,
    report: NamesReport,
) -> int:
    what = "name" if kind == "user" else "title"
    if given is not None:
        pos = _position(given, names, what)
        report.reasons["title"] = "as chosen"
        report.title_certain = True
    else:
        keys = [_normalise(n) for n in names]
        named = [
            (_TITLE_NAMES.index(k), j)
            for j, k in enumerate(keys)
            if k in _TITLE_NAMES and j not in exclude
        ]
        if report.header and named:
            pos = min(named)[1]
            report.reasons["title"] = f"named {names[pos]!r}"
            report.title_certain = True
        else:
            scored = [(_title_score(col), j) for j, col in enumerate(columns) if j not in exclude]
            score, pos = max(scored) if scored else (0.0, -1)
            if score <= 0:
                raise NamesColumnError(
                    f"no column of the names file looks like {what}s (text that is not a "
                    f"number, a date or a link); its columns are {names}. Choose the "
                    f"{what} column",
                    report=report,
                )
            report.reasons["title"] = "text with letters and spaces, nearly all different"
    report.title_column = names[pos]
    report.positions["title"] = pos
    return pos


def _title_score(column: pa.ChunkedArray) -> float:
    """How much a column looks like titles: 0 for numbers, dates, links and flags."""
    sample = [v for v in column.slice(0, 500).to_pylist() if v]
    if not sample:
        return 0.0
    letters = sum(any(ch.isalpha() for ch in v) for v in sample) / len(sample)
    links = sum(v.lower().startswith(("http://", "https://", "www.")) for v in sample)
    dates = sum(bool(_DATE.match(v)) for v in sample)
    if letters < 0.5 or links > len(sample) / 2 or dates > len(sample) / 2:
        return 0.0
    spaces = sum(" " in v for v in sample) / len(sample)
    distinct = len(set(sample)) / len(sample)
    length = min(1.0, np.mean([len(v) for v in sample]) / 20)
    return letters * distinct * (1 + spaces) * (0.5 + length)


def _flag_run(text: Any, columns: list[pa.ChunkedArray], exclude: set[int]) -> list[int]:
    """The longest run of adjacent 0/1 columns (at least five), e.g. u.item's genres."""
    is_flag = []
    for j, col in enumerate(columns):
        values = pc.unique(col.slice(0, 2000)).to_pylist()
        is_flag.append(j not in exclude and bool(values) and set(values) <= {"0", "1", ""})
    best: list[int] = []
    run: list[int] = []
    for j, flag in enumerate(is_flag):
        run = [*run, j] if flag else []
        if len(run) > len(best):
            best = run
    return best if len(best) >= _MIN_FLAG_COLUMNS else []


def _categories(
    text: Any,
    columns: list[pa.ChunkedArray],
    given: str | int | bool | None,
    used: set[int],
    flags: list[int],
    report: NamesReport,
) -> list[list[str]] | None:
    names = text.names
    pos = None
    if given is False:
        report.reasons["categories"] = "none, as chosen"
        return None
    if given is not None:
        pos = _position(given, names, "category")
        report.reasons["categories"] = "as chosen"
    elif text.header:
        hits = [
            (_CATEGORY_NAMES.index(_normalise(n)), j)
            for j, n in enumerate(names)
            if _normalise(n) in _CATEGORY_NAMES and j not in used
        ]
        if hits:
            pos = min(hits)[1]
            report.reasons["categories"] = f"named {names[pos]!r}, split on '|'"
    if pos is not None:
        report.category_column = repr(names[pos])
        report.positions["category"] = pos
        values = columns[pos].to_pylist()
        return [
            [part.strip() for part in v.split("|") if part.strip().lower() not in _NO_CATEGORY]
            for v in values
        ]
    if not flags:
        return None
    if text.header:
        labels = [names[j] for j in flags]
    elif len(flags) == len(ML100K_GENRES):
        labels = list(ML100K_GENRES)
    else:
        labels = [f"category {k + 1}" for k in range(len(flags))]
    first, last = names[flags[0]], names[flags[-1]]
    report.category_column = f"{len(flags)} flag columns ({first} to {last})"
    report.reasons["categories"] = "adjacent columns of 0 and 1" + (
        ": the 19 genres of MovieLens 100K" if labels == list(ML100K_GENRES) else ""
    )
    on = np.column_stack([pc.equal(columns[j], "1").to_numpy(zero_copy_only=False) for j in flags])
    return [
        [label for label, flag in zip(labels, row, strict=True) if flag and label != "unknown"]
        for row in on
    ]


def _build_table(
    ids: pa.ChunkedArray,
    titles: pa.ChunkedArray,
    categories: list[list[str]] | None,
    kind: str,
    report: NamesReport,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"id": ids.to_numpy(zero_copy_only=False), "title": titles.to_numpy(zero_copy_only=False)}
    )
    if categories is not None:
        frame["genres"] = ["|".join(c) for c in categories]
        frame["genre"] = [c[0] if c else None for c in categories]
    frame = frame[frame["id"] != ""]
    repeated = frame["id"].duplicated(keep="first")
    report.repeated_ids = int(frame.loc[repeated, "id"].nunique())
    frame = frame[~repeated]
    frame["title"] = frame["title"].where(frame["title"] != "", None)
    if frame["title"].str.contains(_ENTITY, regex=True, na=False).any():
        # Some exports (Book-Crossing) keep HTML entities: "Pride &amp; Prejudice".
        frame["title"] = frame["title"].map(lambda t: html.unescape(t) if t else t)
    report.named = int(frame["title"].notna().sum())
    if kind == "user":
        frame = frame.rename(columns={"title": "name"})
    return frame.set_index("id")


def _match(
    table: pd.DataFrame, rated: np.ndarray | None, rated_text: pa.Array | None, report: NamesReport
) -> pd.DataFrame:
    """Index the names by the ratings' ids (their values and type) and count the matches."""
    if rated is None or rated_text is None:
        ids, _ = _ids(table.index)  # plain integers as int64, as the ratings reader does
        table.index = pd.Index(ids, name="id")
        return table
    by_text = dict(zip(rated_text.to_pylist(), rated.tolist(), strict=True))
    known = table.index.isin(list(by_text))
    name_column = "name" if "name" in table.columns else "title"
    named = known & table[name_column].notna().to_numpy()
    report.matched = int(named.sum())
    report.unnamed = len(rated) - report.matched
    report.unmatched = int((~known).sum())
    report.unmatched_examples = [str(i) for i in table.index[~known][:_EXAMPLES]]
    matched = table[known]
    matched.index = pd.Index([by_text[i] for i in matched.index], name="id")
    return matched
