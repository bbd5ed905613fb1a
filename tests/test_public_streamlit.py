"""The app leans on Streamlit's public API only: no import from its internals (streamlit.runtime,
streamlit.web, …), no private names, no walking up the call stack. A rename inside Streamlit
must not break the app silently; requirements.txt pins the minor version the tests run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import streamlit

ROOT = Path(__file__).resolve().parents[1]
#: Streamlit modules whose import is public API (everything else is reached as ``st.…``).
PUBLIC_MODULES = {"streamlit", "streamlit.components.v1"}
#: Text that means the code reaches into Streamlit's internals or inspects the call stack.
FORBIDDEN = {
    r"\bst(reamlit)?\.(runtime|web|proto|elements|commands|delta_generator|source_util)\b": (
        "a Streamlit internal module"
    ),
    r"\b(RerunException|StopException|ScriptRunContext|get_script_run_ctx|_mpa_v1)\b": (
        "a private Streamlit name"
    ),
    r"\bsys\._getframe\b|\binspect\.(stack|currentframe|getouterframes|getinnerframes|trace)\b": (
        "call-stack inspection"
    ),
    r"\btraceback\.(extract_stack|walk_stack|print_stack)\b|\.f_back\b": "call-stack inspection",
}


def private_uses(source: str) -> list[str]:
    """Each line of ``source`` that imports a non-public Streamlit module, names a private
    Streamlit object or inspects the call stack, as "line N: why"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] == "streamlit" and name not in PUBLIC_MODULES:
                found.append(f"line {node.lineno}: imports {name}")
    for number, line in enumerate(source.splitlines(), start=1):
        for pattern, why in FORBIDDEN.items():
            if re.search(pattern, line):
                found.append(f"line {number}: {why}: {line.strip()}")
    return found


def app_sources() -> list[Path]:
    return [
        ROOT / "app.py",
        *sorted((ROOT / "pages").glob("*.py")),
        *sorted((ROOT / "dashboard").rglob("*.py")),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from streamlit.runtime.scriptrunner import RerunException",
        "import streamlit.web.server",
        "from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx",
        "import streamlit as st\nst.runtime.exists()",
        "import sys\nframe = sys._getframe(1)",
        "import inspect\nnames = [f.function for f in inspect.stack()]",
        "while frame is not None:\n    frame = frame.f_back",
        "if frame.f_code.co_name == '_mpa_v1': pass",
    ],
)
def test_the_check_finds_internals_and_stack_walks(source):
    assert private_uses(source)


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit as st\nst.session_state['x'] = 1",
        "import streamlit.components.v1 as components",
        "import inspect\nparams = inspect.signature(print)",
        "from dashboard import session\nsession.current_dataset()",
    ],
)
def test_the_check_lets_public_api_pass(source):
    assert not private_uses(source)


def test_app_pages_and_dashboard_use_only_public_streamlit():
    sources = app_sources()
    assert len(sources) > 20  # the app, its pages and its helpers were all found
    problems = {
        str(path.relative_to(ROOT)): found
        for path in sources
        if (found := private_uses(path.read_text(encoding="utf-8")))
    }
    assert not problems, problems


def test_requirements_pin_the_streamlit_minor_version_the_tests_run():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    (pin,) = [line.split("#")[0].strip() for line in lines if line.startswith("streamlit")]
    match = re.fullmatch(r"streamlit>=(\d+)\.(\d+),<(\d+)\.(\d+)", pin)
    assert match, f"expected streamlit>=X.Y,<X.Z in requirements.txt, got {pin!r}"
    low, high = (int(match[1]), int(match[2])), (int(match[3]), int(match[4]))
    running = tuple(int(part) for part in streamlit.__version__.split(".")[:2])
    assert low <= running < high, f"tests run Streamlit {streamlit.__version__}, pin is {pin}"
    assert high[0] == low[0] and high[1] - low[1] <= 2, "pin to the minor versions tested"
