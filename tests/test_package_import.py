"""``import als_core`` is cheap and every public name still works: names load on first use.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import als_core as ac

ROOT = Path(__file__).resolve().parents[1]
#: What a program that only imports the package must not pay for.
HEAVY = {"numpy", "pandas", "scipy", "pyarrow", "streamlit"}
#: The optional parts, loaded only by the programs that use them.
OPTIONAL = {
    "als_core.experiments",
    "als_core.spark_engine",
    "als_core.export",
    "als_core.model_io",
    "als_core.io",
    "als_core.baselines",
    "als_core.gradient",
    "als_core.implicit",
    "als_core.tune",
    "als_core.cli",
}


def _modules_after(code: str) -> set[str]:
    """The modules loaded by a fresh interpreter after running ``code``."""
    program = (
        f"import json, sys\nsys.path.insert(0, {str(ROOT)!r})\n{code}\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_package_loads_no_heavy_library():
    loaded = _modules_after("import als_core")
    assert not {m.split(".")[0] for m in loaded} & HEAVY
    assert not loaded & OPTIONAL


def test_the_estimator_loads_without_the_optional_parts():
    loaded = _modules_after("import als_core as ac\nac.ALS")
    assert "als_core.als" in loaded
    assert not loaded & OPTIONAL


def test_the_command_line_answers_help_without_loading_a_heavy_library():
    code = "from als_core.cli import main\nfor argv in (['--help'], ['fit', '--help']):\n"
    code += "    assert main(argv) == 0"
    loaded = _modules_after(code)
    assert "als_core.cli" in loaded
    assert not {m.split(".")[0] for m in loaded} & HEAVY


def test_every_public_name_resolves_to_what_its_module_defines():
    for name in ac.__all__:
        value = getattr(ac, name)
        if name == "experiments":
            assert value.__name__ == "als_core.experiments"
        else:
            assert not isinstance(value, type(ac)), f"ac.{name} is a module"
    assert set(dir(ac)) >= set(ac.__all__)


def test_split_synthetic_and_tune_stay_functions_after_their_modules_are_imported():
    # Each shares its name with its module; importing the module first must not shadow it.
    code = (
        "import als_core.split, als_core.synthetic, als_core.tune, als_core.samples\n"
        "import als_core as ac\n"
        "assert all(callable(f) for f in (ac.split, ac.synthetic, ac.tune)), "
        "(ac.split, ac.synthetic, ac.tune)\n"
        "from als_core.split import Split\n"
    )
    assert "als_core.split" in _modules_after(code)
