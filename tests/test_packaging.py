"""`pip install .` gives a working library: the wheel holds als_core alone, with the kernel's C
sources, and an installed copy imports, compiles its kernel and answers `als-core --help` from
a directory that is not the repository.

No network: the wheel is built without build isolation (setuptools from requirements-dev.txt)
and installed with --no-deps into a virtual environment that sees this interpreter's packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from als_core import _kernel

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

PROBE = """
import json, importlib.resources as resources
import numpy as np
import als_core as ac
r = ac.Ratings.from_codes([0, 0, 1, 2], [0, 1, 1, 0], [5.0, 3.0, 4.0, 1.0], shape=(3, 2))
model = ac.ALS(k=1, lam=0.1, iterations=2).fit(r)
files = resources.files("als_core")
ac._kernel.available()  # the first fit ran on numpy while the kernel compiled: wait for it
print(json.dumps({
    "file": ac.__file__,
    "engine": ac.solver_engine(),
    "sources": [(files / name).is_file() for name in ("_kernel.c", "_kernel_body.h")],
    "finite": bool(np.all(np.isfinite(model.user_factors_))),
}))
"""


def _run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the project's packaging files and als_core/."""
    tmp = tmp_path_factory.mktemp("build")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "als_core", src / "als_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", "dist", "./src"],
        tmp,
    )
    (built,) = (tmp / "dist").glob("*.whl")
    return built


def test_the_wheel_holds_als_core_with_its_kernel_sources_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        commands = archive.read(entry_points).decode()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"als_core"}
    packaged = {name.split("/", 1)[1] for name in names if name.startswith("als_core/")}
    expected = {p.name for p in (ROOT / "als_core").iterdir() if p.suffix in (".py", ".c", ".h")}
    assert packaged == expected
    assert {"_kernel.c", "_kernel_body.h"} <= packaged
    assert "als-core = als_core.cli:main" in commands


def test_an_installed_copy_imports_compiles_its_kernel_and_answers_help(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], tmp_path)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    # This interpreter's pip, run by the venv's Python, installs into the venv.
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ALS_CORE_ENGINE")}
    # An empty kernel cache: the installed copy compiles its own C sources.
    env["ALS_CORE_KERNEL_DIR"] = str(tmp_path / "kernel")
    probe = json.loads(_run([python, "-c", PROBE], elsewhere, env).stdout.strip().splitlines()[-1])
    assert Path(probe["file"]).is_relative_to(venv), probe["file"]
    assert probe["sources"] == [True, True]
    assert probe["finite"]
    if _kernel.available():  # a C compiler is here, so the installed copy must use it too
        assert probe["engine"].startswith("compiled C kernel"), probe["engine"]
        assert any((tmp_path / "kernel").iterdir())

    command = scripts / ("als-core.exe" if os.name == "nt" else "als-core")
    shown = _run([command, "--help"], elsewhere, env).stdout
    assert shown.startswith("usage: als-core ") and "fit" in shown  # it names itself so
