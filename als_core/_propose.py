"""Which column is the user, the item, the rating and the time: a proposal read off the values.

Used when the header does not say (no header, unknown names, more columns than roles). Each
column of the first lines gets a profile, and each role the column that fits it best:

- *rating*: numbers only, few distinct values in a bounded range (a rating scale), which change
  from row to row (an id in a sorted file also has few values, but in runs);
- *timestamp*: dates, or numbers in the range of Unix times (seconds or milliseconds);
- *user* and *item*: ids that repeat (a column where every value differs is a row or review
  id; numbers counting 1, 2, 3 … are a row number; long text with spaces is a title or a
  review); the first such column is the user, the next the item, as in almost every file.

Every choice comes with a reason in plain words, so a person can check it before using it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ROLES = ("user", "item", "rating", "timestamp")

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
# Unix times from 1973 to 2100, in seconds or in milliseconds.
_UNIX_SECONDS = (1e8, 4.1e9)
_UNIX_MILLISECONDS = (1e11, 4.1e12)
_MAX_RATING_LEVELS = 21  # 0-10 in half steps
_USUAL_RATING_LEVELS = 11  # 0-10, or 0.5-5 in half steps
_MAX_RATING_RANGE = 100.0


@dataclass(frozen=True)
class MappingProposal:
    """A proposed column mapping and why, for a person to confirm.

    Attributes
    ----------
    columns : dict
        Role (``user``, ``item``, ``rating``, ``timestamp``) to 0-based column position, or
        None where no column fits: exactly what ``read_ratings(..., columns=...)`` takes.
    names : dict
        Role to the column's name as the report shows it (header name or ``"column 3"``).
    reasons : dict
        Role to one sentence saying why that column (or why none).
    others : dict
        Name of each column left out to why it is not one of the roles.
    complete : bool
        True when user, item and rating all have a column.
    """

    columns: dict[str, int | None]
    names: dict[str, str | None]
    reasons: dict[str, str]
    others: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(self.columns.get(role) is not None for role in ("user", "item", "rating"))

    def summary(self) -> str:
        """One line: "user = column 1, item = column 2, rating = column 5"."""
        return ", ".join(
            f"{role} = {self.names[role]}" for role in ROLES if self.columns.get(role) is not None
        )


@dataclass
class _Profile:
    """What the first values of one column look like."""

    position: int
    values: list[str]
    numbers: np.ndarray | None  # all values as floats, when every one is a number
    dates: pd.Series | None  # all values as dates, when (nearly) every one is a date
    distinct: int
    adjacent_repeats: float  # share of rows whose value equals the row above
    has_spaces: float  # share of values with a space inside
    counting: bool  # 1, 2, 3, … (a row number)

    @property
    def n(self) -> int:
        return len(self.values)


def profile(position: int, values: list[str]) -> _Profile:
    values = [v.strip() for v in values if v.strip()]
    numbers = None
    if values and all(_NUMBER.match(v) for v in values):
        numbers = np.array([float(v.replace(",", ".")) for v in values])
    dates = None
    if values and numbers is None:
        parsed = pd.to_datetime(pd.Series(values), errors="coerce", format="mixed", utc=True)
        if parsed.notna().mean() >= 0.9:
            dates = parsed
    same = sum(a == b for a, b in zip(values, values[1:], strict=False))
    counting = bool(numbers is not None and len(numbers) >= 3 and np.all(np.diff(numbers) == 1))
    return _Profile(
        position=position,
        values=values,
        numbers=numbers,
        dates=dates,
        distinct=len(set(values)),
        adjacent_repeats=same / max(1, len(values) - 1),
        has_spaces=sum(" " in v for v in values) / max(1, len(values)),
        counting=counting,
    )


def propose(
    rows: list[list[str]], names: list[str], fixed: dict[str, int | None] | None = None
) -> MappingProposal:
    """Propose a column for each role from the values of ``rows`` (the data rows, no header).

    ``fixed`` roles (found by name, or chosen) are kept as they are; the others are proposed.
    """
    fixed = {role: pos for role, pos in (fixed or {}).items() if role in ROLES}
    width = len(names)
    profiles = [profile(j, [r[j] for r in rows if j < len(r)]) for j in range(width)]
    columns: dict[str, int | None] = {}
    reasons: dict[str, str] = {}
    taken = {p for p in fixed.values() if p is not None}
    for role, pos in fixed.items():
        columns[role] = pos
        reasons[role] = "chosen by its name" if pos is not None else "left out as chosen"
    free = [p for p in profiles if p.position not in taken and p.n]

    if "timestamp" not in columns:
        found = _best_time(free)
        columns["timestamp"], reasons["timestamp"] = _take(found, free, "no column of dates")
    if "rating" not in columns:
        found = _best_rating(free)
        columns["rating"], reasons["rating"] = _take(
            found, free, "no column of a few numbers in a bounded range"
        )
    ids = [(p, why) for p in free if (why := _not_an_id(p)) is None]
    for role in ("user", "item"):
        if role in columns:
            continue
        if ids:
            p, _ = ids.pop(0)
            free.remove(p)
            columns[role] = p.position
            reasons[role] = _id_reason(p, role)
        else:
            columns[role], reasons[role] = None, "no column of repeating ids is left"
    others = {
        names[p.position]: _not_an_id(p)
        or f"more repeating values ({p.distinct} different in {p.n} lines), not needed"
        for p in free
    }
    return MappingProposal(
        columns={role: columns.get(role) for role in ROLES},
        names={
            role: (names[columns[role]] if columns.get(role) is not None else None)
            for role in ROLES
        },
        reasons={role: reasons[role] for role in ROLES},
        others=others,
    )


def _take(
    found: tuple[_Profile, str] | None, free: list[_Profile], missing: str
) -> tuple[int | None, str]:
    if found is None:
        return None, missing
    chosen, reason = found
    free.remove(chosen)
    return chosen.position, reason


def _best_time(free: list[_Profile]) -> tuple[_Profile, str] | None:
    for p in free:
        if p.dates is not None:
            first, last = p.dates.min(), p.dates.max()
            return p, f"its values are dates ({first:%Y-%m-%d} to {last:%Y-%m-%d})"
    for p in free:
        if p.numbers is None or p.counting:
            continue
        for (low, high), unit, scale in ((_UNIX_SECONDS, "seconds", 1), (_UNIX_MILLISECONDS,
                                         "milliseconds", 1000)):  # fmt: skip
            if np.all((p.numbers >= low) & (p.numbers <= high)) and p.distinct > 1:
                years = (
                    pd.to_datetime(p.numbers.min() / scale, unit="s").year,
                    pd.to_datetime(p.numbers.max() / scale, unit="s").year,
                )
                return p, (
                    f"numbers from {p.numbers.min():.3g} to {p.numbers.max():.3g}: Unix times in "
                    f"{unit} ({years[0]}–{years[1]})"
                )
    return None


def _best_rating(free: list[_Profile]) -> tuple[_Profile, str] | None:
    candidates = []
    for p in free:
        x = p.numbers
        if x is None or p.counting or p.distinct < 2 or p.distinct > _MAX_RATING_LEVELS:
            continue
        if x.max() - x.min() > _MAX_RATING_RANGE or x.min() < -_MAX_RATING_RANGE:
            continue
        # An id in a sorted file has few values too, but in runs; ratings change row to row.
        if p.adjacent_repeats > 0.5:
            continue
        on_steps = bool(np.all(np.isclose(x * 2, np.round(x * 2))))
        # Whole or half steps, at most 11 levels (1-5, 0.5-5, 1-10), and ratings come after
        # the ids: the rightmost such column, rather than a column of a few small ids.
        candidates.append((not on_steps, p.distinct > _USUAL_RATING_LEVELS, -p.position, p))
    if not candidates:
        return None
    p = min(candidates, key=lambda c: c[:3])[3]
    levels = ", ".join(f"{v:g}" for v in np.unique(p.numbers)[:6])
    more = ", …" if p.distinct > 6 else ""
    return p, (
        f"{p.distinct} distinct numbers from {p.numbers.min():g} to {p.numbers.max():g} "
        f"({levels}{more}): a rating scale"
    )


def _not_an_id(p: _Profile) -> str | None:
    """Why a column cannot be a user or item id, or None if it can."""
    if p.counting:
        return "numbers counting up by one: a row number"
    if p.n >= 5 and p.distinct == p.n:
        return "every value is different: an id of the row (a review or event), not a user or item"
    if p.has_spaces > 0.5:
        return "text with spaces: a title, name or comment"
    if p.distinct == 1 and p.n >= 5:
        return "the same value on every line"
    if p.numbers is not None and not np.all(p.numbers == np.round(p.numbers)):
        return "numbers with decimals, not ids"
    return None


def _id_reason(p: _Profile, role: str) -> str:
    order = "the first" if role == "user" else "the next"
    return f"ids that repeat ({p.distinct} different in {p.n} lines), {order} such column" + (
        " (user ids usually come first)" if role == "user" else ""
    )
