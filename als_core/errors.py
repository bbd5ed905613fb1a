"""The library's named errors, so callers can catch exactly what they expect."""

from __future__ import annotations


class RatingsError(ValueError):
    """Ratings that cannot be used as given: the message says what, where and how to fix it."""


class NotFittedError(RuntimeError):
    """A fitted attribute or method was used before ``fit``."""


class NonFiniteFactorsError(FloatingPointError):
    """A fit produced NaN or infinite factors (overflow, or non-finite input slipped through)."""
