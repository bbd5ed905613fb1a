"""Where MovieLens latest-small is, for the tests that read the real files.

The data are not in the repository: a developer keeps them in a ``shared/data`` folder beside
the checkout (or beside a folder that holds several checkouts), and CI may not have them at all,
so those tests skip and say where they looked. ``ALS_EXPLORER_SHARED_DATA`` names the folder
that holds ``ml-latest-small/`` when it lives anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

#: The environment variable naming the folder that holds ``ml-latest-small/``.
ENV = "ALS_EXPLORER_SHARED_DATA"
NAME = "ml-latest-small"
REPO = Path(__file__).resolve().parents[1]


def movielens_small_candidates(
    repo: Path = REPO, environ: Mapping[str, str] = os.environ
) -> list[Path]:
    """Where to look, in order: ``$ALS_EXPLORER_SHARED_DATA/ml-latest-small`` alone when the
    variable is set, else ``shared/data/ml-latest-small`` in each folder above ``repo``,
    nearest first."""
    if environ.get(ENV):
        return [Path(environ[ENV]).expanduser() / NAME]
    return [parent / "shared" / "data" / NAME for parent in Path(repo).resolve().parents]


def find_movielens_small(
    *files: str, repo: Path = REPO, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The first candidate folder that has every one of ``files`` (e.g. "ratings.csv"); None
    when none has them."""
    for folder in movielens_small_candidates(repo, environ):
        if all((folder / name).is_file() for name in files):
            return folder
    return None


def needs_movielens_small(*files: str) -> pytest.MarkDecorator:
    """Skip a test, with the reason, unless MovieLens latest-small (with ``files``) is found."""
    found = find_movielens_small(*files)
    reason = (
        f"MovieLens latest-small ({', '.join(files)}) is not here: set {ENV} to the folder that "
        f"holds {NAME}/, or keep it in shared/data beside the checkout"
    )
    return pytest.mark.skipif(found is None, reason=reason)


def movielens_small(*files: str) -> Path:
    """The folder found by ``find_movielens_small`` (use under ``needs_movielens_small``)."""
    found = find_movielens_small(*files)
    if found is None:
        pytest.skip(f"MovieLens latest-small is not here (see {ENV})")
    return found
