"""The library's named errors, so callers can catch exactly what they expect."""

from __future__ import annotations


class RatingsError(ValueError):
    """Ratings that cannot be used as given: the message says what, where and how to fix it."""


class NotFittedError(RuntimeError):
    """A fitted attribute or method was used before ``fit``."""


class NonFiniteFactorsError(FloatingPointError):
    """A fit produced NaN or infinite factors (overflow, or non-finite input slipped through)."""


class DuplicateRatingsError(RatingsError):
    """(user, item) pairs rated more than once, when the caller asked to refuse them.

    ``note`` is the ``ac.DuplicateNote`` (how many pairs, the first one with its line numbers),
    so a caller can word the message itself (a select in an app, a flag on a command line).
    """

    def __init__(self, message: str, *, note: object) -> None:
        super().__init__(message)
        self.note = note


class ColumnMappingError(RatingsError):
    """The reader could not tell which column holds the user, the item or the rating.

    ``proposal`` is its best guess from the values (an ``ac.MappingProposal``: positions for
    ``read_ratings(columns=...)`` and a reason per role), or None when it has none.
    """

    def __init__(self, message: str, *, proposal: object = None) -> None:
        super().__init__(message)
        self.proposal = proposal


class NamesColumnError(RatingsError):
    """A names file in which the reader found no column to use as titles (or names).

    ``report`` is the ``ac.NamesReport`` so far: the file's ``columns`` and the id column it
    would use, so a caller can ask which column holds the titles and read again with
    ``title_column=``.
    """

    def __init__(self, message: str, *, report: object) -> None:
        super().__init__(message)
        self.report = report


class InvalidRowsError(RatingsError):
    """Rows (or cells of a matrix) that cannot be read, when the caller did not ask to skip them.

    ``count`` is how many, ``lines`` the physical lines (1 = first) of the first few; reading
    again with ``drop_invalid=True`` skips them (an app's "skip invalid rows", a CLI's
    ``--drop-invalid``), which the message says in words, not in code.
    """

    def __init__(self, message: str, *, count: int, lines: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.count = count
        self.lines = lines
