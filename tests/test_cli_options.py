"""The command line's --damping and --users, and the name it gives itself: ``als-core`` as the
installed console script, ``python -m als_core`` as a module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import als_core as ac
from als_core.cli import main
from tests.test_cli import planted_ratings

ROOT = Path(__file__).resolve().parents[1]
#: What ``pip install`` writes as the ``als-core`` console script (its [project.scripts] entry).
CONSOLE_SCRIPT = """\
import sys
from als_core.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-options") / "ratings.csv"
    planted_ratings(n_users=30, n_items=20).to_csv(path, index=False)
    return path


def one_error_line(err: str, prog: str = "python -m als_core") -> str:
    """The error of a refused command line: exactly one line, the last, naming the command."""
    lines = err.strip().splitlines()
    assert [ln for ln in lines if "error:" in ln] == [lines[-1]], err
    assert lines[-1].startswith(f"{prog}"), err
    assert "Traceback" not in err
    return lines[-1]


# ----------------------------------------------------------------------------- --damping
def test_damping_reaches_the_model_as_the_library_fits_it(ratings_csv, tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["fit", str(ratings_csv), "--k", "2", "--lam", "0.05", "--iterations", "3",
            "--regularization", "weighted", "--damping", "4", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "(weighted, damping 4)" in capsys.readouterr().err
    saved = ac.load_model(out)
    assert saved.damping == 4.0 and saved.regularization == "weighted"
    # The same fit through the library: ALS(damping=4) gives the same factors.
    library = ac.ALS(k=2, lam=0.05, iterations=3, regularization="weighted", damping=4.0)
    library.fit(ac.read_ratings(ratings_csv))
    np.testing.assert_allclose(saved.item_factors_, library.item_factors_, rtol=1e-10)
    undamped = ac.ALS(k=2, lam=0.05, iterations=3, regularization="weighted")
    undamped.fit(ac.read_ratings(ratings_csv))
    assert not np.allclose(saved.item_factors_, undamped.item_factors_, rtol=1e-3)


@pytest.mark.parametrize(
    ("extra", "code", "expected"),
    [
        (["--damping", "5"], 1, "--damping applies to weighted regularisation only"),
        (["--damping", "5", "--regularization", "plain"], 1, "add --regularization weighted"),
        (["--damping", "5", "--engine", "spark"], 1, "not supported by --engine spark"),
        (["--damping", "-1"], 2, "--damping"),
        (["--damping", "nan"], 2, "--damping"),
        (["--damping", "5", "--tune"], 1, "--tune chooses --damping itself"),
    ],
)
def test_damping_that_cannot_apply_is_refused_in_one_line(
    ratings_csv, tmp_path, capsys, extra, code, expected
):
    out = tmp_path / "o"
    assert main(["fit", str(ratings_csv), "--out", str(out), *extra]) == code
    assert expected in one_error_line(capsys.readouterr().err)
    assert not out.exists()  # nothing written


def test_damping_zero_is_the_default_and_changes_nothing(ratings_csv, tmp_path):
    out = tmp_path / "m"
    argv = ["fit", str(ratings_csv), "--k", "2", "--iterations", "1", "--quiet",
            "--damping", "0", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0 and ac.load_model(out).damping == 0.0


# ----------------------------------------------------------------------------- --users
def test_user_names_are_read_logged_and_kept_in_the_model_directory(ratings_csv, tmp_path, capsys):
    people = tmp_path / "people.csv"
    # Users 1 and 2 are rated; 999 is not; the other users keep their ids.
    people.write_text("id;name\n1;Ada Lovelace\n2;Grace Hopper\n999;Nobody Here\n")
    out = tmp_path / "model"
    argv = ["fit", str(ratings_csv), "--users", str(people), "--k", "2", "--iterations", "2",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "names: 2 of 30 users named from people.csv (names from 'name')" in err
    assert "1 name(s) match no rated user" in err
    model = ac.load_model(out)
    assert model.settings_["run"]["users"].endswith("people.csv")
    kept = model.train_ratings_.user_info.set_index("id")["name"]
    assert kept[1] == "Ada Lovelace" and kept[2] == "Grace Hopper"
    assert kept.isna().sum() == 28  # unnamed users keep their id


def test_user_names_errors_are_one_line_and_nothing_is_written(ratings_csv, tmp_path, capsys):
    out = tmp_path / "model"
    missing = ["fit", str(ratings_csv), "--users", str(tmp_path / "no.csv"), "--out", str(out)]
    assert main(missing) == 1
    assert "no user names file at" in one_error_line(capsys.readouterr().err)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("id,age\n1,30\n2,41\n3,25\n")
    argv = ["fit", str(ratings_csv), "--users", str(numbers), "--k", "2", "--out", str(out)]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "cannot read user names from" in line and "looks like names" in line
    assert not out.exists()


# ----------------------------------------------------------------------------- its own name
def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_as_a_module_it_is_python_m_als_core(tmp_path):
    shown = run([sys.executable, "-m", "als_core", "--help"], tmp_path)
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: python -m als_core ")
    assert "  python -m als_core fit ratings.csv" in shown.stdout
    assert "als-core" not in shown.stdout.replace("als_core", "")
    fit_help = run([sys.executable, "-m", "als_core", "fit", "--help"], tmp_path)
    assert fit_help.stdout.startswith("usage: python -m als_core fit ")
    refused = run([sys.executable, "-m", "als_core", "fit"], tmp_path)
    assert refused.returncode == 2
    assert "required" in one_error_line(refused.stderr, "python -m als_core fit")


def test_as_the_console_script_it_is_als_core(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "als-core"
    script.write_text(CONSOLE_SCRIPT)
    shown = run([sys.executable, str(script), "--help"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: als-core ")
    assert "  als-core fit ratings.csv" in shown.stdout
    assert "python -m" not in shown.stdout
    fit_help = run([sys.executable, str(script), "fit", "--help"], tmp_path)
    assert fit_help.stdout.startswith("usage: als-core fit ")
    refused = run([sys.executable, str(script), "fit"], tmp_path)
    assert refused.returncode == 2
    assert "required" in one_error_line(refused.stderr, "als-core fit")
    missing = run([sys.executable, str(script), "evaluate", "nowhere", "x.csv"], tmp_path)
    assert missing.returncode == 1
    assert one_error_line(missing.stderr, "als-core").startswith("als-core: error:")
