"""The public API's docstrings: NumPy style, and their Examples run (as doctests) and pass.

To document another public object, add it to ``DOCUMENTED`` with the sections its docstring
must have; its Examples then run here. Examples build their own small data (no files).
"""

from __future__ import annotations

import doctest
import inspect

import numpy as np
import pytest

import als_core as ac

FUNCTION = ("Parameters", "Returns", "Examples")
CLASS = ("Parameters", "Attributes", "Examples")

#: (name, object, sections its docstring must have).
DOCUMENTED = [
    ("Ratings", ac.Ratings, CLASS),
    ("Ratings.from_frame", ac.Ratings.from_frame, (*FUNCTION, "Raises")),
    ("split", ac.split, (*FUNCTION, "Raises")),
    ("ALS", ac.ALS, CLASS),
    ("ALS.fit", ac.ALS.fit, (*FUNCTION, "Raises")),
    ("ALS.predict", ac.ALS.predict, (*FUNCTION, "Raises")),
    ("ALS.recommend", ac.ALS.recommend, (*FUNCTION, "Raises")),
    ("ALS.similar_items", ac.ALS.similar_items, (*FUNCTION, "Raises")),
    ("als_half_step", ac.als_half_step, (*FUNCTION, "Raises")),
    ("objective", ac.objective, (*FUNCTION, "Raises")),
    ("row_objectives", ac.row_objectives, FUNCTION),
    ("load_model", ac.load_model, (*FUNCTION, "Raises")),
    ("tune", ac.tune, (*FUNCTION, "Raises")),
    ("prepare_engine", ac.prepare_engine, ("Returns", "Examples")),
    ("solver_engine", ac.solver_engine, ("Returns", "Examples")),
    ("read_ratings", ac.read_ratings, (*FUNCTION, "Raises")),
    ("read_ratings_report", ac.read_ratings_report, (*FUNCTION, "Raises")),
    ("inspect_ratings", ac.inspect_ratings, (*FUNCTION, "Raises")),
    ("read_item_names", ac.read_item_names, (*FUNCTION, "Raises")),
    ("read_user_names", ac.read_user_names, (*FUNCTION, "Raises")),
    ("Ratings.with_item_names", ac.Ratings.with_item_names, FUNCTION),
]
IDS = [name for name, _, _ in DOCUMENTED]


def _section_headings(doc: str) -> set[str]:
    """NumPy-style headings: a line followed by a line of dashes as long as it."""
    lines = [line.strip() for line in doc.splitlines()]
    return {
        a
        for a, b in zip(lines, lines[1:], strict=False)
        if a and b and set(b) == {"-"} and len(b) == len(a)
    }


@pytest.mark.parametrize(("name", "obj", "sections"), DOCUMENTED, ids=IDS)
def test_public_docstring_has_the_numpy_sections(name, obj, sections):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    missing = set(sections) - _section_headings(doc)
    assert not missing, f"{name}'s docstring lacks the section(s) {sorted(missing)}"


@pytest.mark.parametrize(("name", "obj", "sections"), DOCUMENTED, ids=IDS)
def test_public_docstring_examples_run_and_pass(name, obj, sections, tmp_path, monkeypatch):
    # Examples that write files (load_model's) write them in the current folder: a fresh one.
    monkeypatch.chdir(tmp_path)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    examples = sum(len(t.examples) for t in tests)
    assert examples, f"{name}'s docstring has no runnable Examples"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test)
    summary = runner.summarize(verbose=False)
    assert summary.failed == 0, f"{summary.failed} of {summary.attempted} examples of {name} failed"
