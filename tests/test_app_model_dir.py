"""Opening a saved model directory in the dashboard: the Data page opens it (or a zip of it),
every exploration page works on it as it is (never refitted), bad paths keep the old data."""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from dashboard import (
    data_summary,
    fit_states,
    fold_in,
    model_open,
    replay_fit,
    session,
    update_by_hand,
)
from dashboard.settings import settings_key
from tests.app_support import open_app, rerun, shown, sidebar_text

PAGE = "pages/data.py"
SAMPLE_NAME = "Movie night (sample)"


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", autouse=True)
def models_may_open_from_pytests_temp_folders(tmp_path_factory):
    """The app opens model directories only under its allowed roots: here, pytest's temp."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(model_open.MODEL_ROOTS_ENV, str(tmp_path_factory.getbasetemp()))
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A model trained outside the app (k = 3, biases) on 80% of movie night, saved."""
    ratings = ac.load_sample("movie_night")
    train, _ = ac.split(ratings, fraction=0.2, seed=4)
    model = ac.ALS(k=3, lam=0.5, iterations=6, biases=True, seed=7).fit(train)
    return ac.save_model(model, train, tmp_path_factory.mktemp("saved") / "movie-night-k3")


@pytest.fixture(scope="module")
def loaded(model_dir) -> ac.ALS:
    """The library's own reading of the directory: what every page must show."""
    return ac.load_model(model_dir)


def open_directory(at: AppTest, path: str) -> AppTest:
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="data_w_model_dir").set_value(path)
    at.button(key="data_open_model").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def opened(model_dir, monkeypatch) -> AppTest:
    """A session that opened the model directory; from then on any fit fails the test."""
    at = open_directory(open_app(PAGE), str(model_dir))
    assert not at.error, [shown(e.value) for e in at.error]

    def no_refit(*args, **kwargs):
        raise AssertionError("a page refitted the opened model")

    monkeypatch.setattr(ac.ALS, "fit", no_refit)
    monkeypatch.setattr(fit_states, "fit_with_snapshots", no_refit)
    return at


def show(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    return rerun(at, errors_ok=False)


# ----------------------------------------------------------------------------- the Data page
def test_the_data_page_opens_a_model_directory_as_the_sessions_data_and_model(opened, model_dir):
    at = opened
    dataset = at.session_state["data_dataset"]
    assert dataset.source == f"model:{model_dir.resolve()}"
    assert dataset.name == "Model: movie-night-k3"
    assert "Now exploring" in at.success[0].value
    assert model_open.EXTERNAL_MODEL_NOTE in at.success[0].value
    fit = at.session_state[session.MODEL_FIT_KEY]
    reference = ac.load_model(model_dir)
    np.testing.assert_array_equal(fit.model.user_factors_, reference.user_factors_)
    np.testing.assert_array_equal(fit.model.item_factors_, reference.item_factors_)
    assert fit.external and fit.validation is None and fit.settings["k"] == 3
    assert fit.train.nnz == reference.train_ratings_.nnz
    # The sidebar and the Data page's summary describe the opened model's training ratings.
    assert "Model: movie-night-k3" in sidebar_text(at)
    assert "k = 3" in sidebar_text(at)
    assert any("trained outside the app" in c.value for c in at.sidebar.caption)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Ratings"] == f"{reference.train_ratings_.nnz:,}"
    assert shown["Rank k"] == "3"


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda tmp: str(tmp / "no-such-model"), "There is no"),
        (lambda tmp: "", "Enter the path of a model directory"),
        (lambda tmp: _write(tmp / "ratings.csv", b"u,i,r\n1,2,3\n"), "is a file, not a model"),
        (lambda tmp: _write(tmp / "model.zip", b"PK"), "is a zip file: upload it"),
        (lambda tmp: str(tmp), "holds no manifest.json"),
        (lambda tmp: str(tmp / ("a" * 5000)), "That path is 5,0"),
        (lambda tmp: str(tmp / "x\0y"), "holds a NUL character"),
        (lambda tmp: str(tmp / ("a" * 300)), "cannot be read on the server (File name too long)"),
    ],
    ids=["missing", "empty", "csv-file", "zip-file", "not-a-model", "5000-chars", "nul", "long"],
)
def test_a_bad_path_says_why_and_keeps_the_previous_dataset(tmp_path, make_path, message):
    at = open_app(PAGE)
    before = at.session_state["data_fingerprint"]
    open_directory(at, make_path(tmp_path))
    assert len(at.error) == 1 and message in shown(at.error[0].value), shown(at.error[0].value)
    assert f"**{SAMPLE_NAME}**, is still in use" in shown(at.info[0].value)
    assert at.session_state["data_dataset"].name == SAMPLE_NAME
    assert at.session_state["data_fingerprint"] == before
    assert session.MODEL_FIT_KEY not in at.session_state


def test_a_model_outside_the_allowed_folders_is_refused_before_it_is_looked_at(
    model_dir, monkeypatch, tmp_path
):
    # Anyone who can reach the app can type a path: outside the allowed roots the answer must
    # not depend on what is there (no probing), and nothing opens.
    monkeypatch.setenv(model_open.MODEL_ROOTS_ENV, str(tmp_path))
    at = open_app(PAGE)
    for path in (str(model_dir), "/no/such/folder", "/etc/passwd", str(tmp_path / ".." / "x")):
        open_directory(at, path)
        assert len(at.error) == 1, path
        assert "only from folders under" in shown(at.error[0].value), shown(at.error[0].value)
        assert session.MODEL_FIT_KEY not in at.session_state
    assert at.session_state["data_dataset"].name == SAMPLE_NAME


def test_without_the_setting_models_open_from_the_servers_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(model_open.MODEL_ROOTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert model_open.model_roots() == [tmp_path.resolve()]
    with pytest.raises(model_open.ModelOpenError, match="There is no"):
        model_open.model_path("inside-but-missing")
    with pytest.raises(model_open.ModelOpenError, match="only from folders under"):
        model_open.model_path(str(tmp_path.parent))


def _write(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


def test_a_damaged_model_directory_names_the_file(model_dir, tmp_path):
    damaged = shutil.copytree(model_dir, tmp_path / "damaged")
    (damaged / "item_factors.parquet").write_bytes(b"not parquet")
    at = open_directory(open_app(PAGE), str(damaged))
    assert "item_factors.parquet" in shown(at.error[0].value)
    assert at.session_state["data_dataset"].name == SAMPLE_NAME


def linked_copy(model_dir: Path, folder: Path) -> Path:
    """A folder whose files are symbolic links to ``model_dir``'s files."""
    folder.mkdir(parents=True)
    for path in model_dir.iterdir():
        (folder / path.name).symlink_to(path)
    return folder


def test_a_folder_of_links_to_files_outside_the_allowed_root_is_refused(
    model_dir, monkeypatch, tmp_path
):
    # The folder is inside the allowed root; the files it links to are not: none may be read.
    root = tmp_path / "root"
    monkeypatch.setenv(model_open.MODEL_ROOTS_ENV, str(root))
    linked = linked_copy(model_dir, root / "innocent-looking")
    at = open_directory(open_app(PAGE), str(linked))
    (error,) = [shown(e.value) for e in at.error]
    assert "links to a file outside" in error and "copy the file itself" in error
    assert str(model_dir) not in error  # where the link leads is not told either
    assert at.session_state["data_dataset"].name == SAMPLE_NAME
    assert session.MODEL_FIT_KEY not in at.session_state
    # One link is enough: the manifest alone, or one factor file.
    for name in ("manifest.json", "item_factors.parquet"):
        mixed = shutil.copytree(model_dir, root / f"one-link-{name}")
        (mixed / name).unlink()
        (mixed / name).symlink_to(model_dir / name)
        with pytest.raises(model_open.ModelOpenError, match=f"{name} in the model directory"):
            model_open.open_model_directory(str(mixed))
    # A link followed from a link: refused as well.
    at = link_session(f"model:{linked}")
    assert "links to a file outside" in shown(at.warning[0].value)
    assert at.session_state["data_dataset"].name == SAMPLE_NAME


def test_links_that_stay_inside_the_allowed_root_are_followed(model_dir, monkeypatch, tmp_path):
    root = tmp_path / "root"
    real = shutil.copytree(model_dir, root / "real")
    monkeypatch.setenv(model_open.MODEL_ROOTS_ENV, str(root))
    at = open_directory(open_app(PAGE), str(linked_copy(real, root / "links")))
    assert not at.error, [shown(e.value) for e in at.error]
    assert at.session_state["data_dataset"].source == f"model:{(root / 'links').resolve()}"


def test_a_file_inside_a_model_directory_opens_its_folder(model_dir):
    at = open_directory(open_app(PAGE), f'"{model_dir / "manifest.json"}"')  # quotes are pasted too
    assert not at.error
    assert at.session_state["data_dataset"].source == f"model:{model_dir.resolve()}"


def zipped(directory: Path, *, folder: str = "my-model/", skip: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in directory.iterdir():
            if path.name != skip:
                archive.write(path, folder + path.name)
    return buffer.getvalue()


def test_an_uploaded_zip_of_a_model_directory_opens_in_this_session(model_dir, loaded):
    at = open_app(PAGE)
    at.file_uploader(key="data_w_model_zip").set_value(
        ("model.zip", zipped(model_dir), "application/zip")
    )
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["data_dataset"].source == "model-upload:model.zip"
    fit = at.session_state[session.MODEL_FIT_KEY]
    np.testing.assert_array_equal(fit.model.item_factors_, loaded.item_factors_)


def test_a_zip_without_a_model_says_so_and_keeps_the_previous_dataset(model_dir):
    at = open_app(PAGE)
    at.file_uploader(key="data_w_model_zip").set_value(
        ("model.zip", zipped(model_dir, skip="manifest.json"), "application/zip")
    )
    at.run()
    assert "holds no manifest.json" in shown(at.error[0].value)
    assert at.session_state["data_dataset"].name == SAMPLE_NAME


def zip_with(model_dir: Path, extra: zipfile.ZipInfo, content: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in model_dir.iterdir():
            if f"m/{path.name}" != extra.filename:
                archive.write(path, "m/" + path.name)
        archive.writestr(extra, content)
    return buffer.getvalue()


def symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16  # how zip -y stores a symbolic link
    return info


@pytest.mark.parametrize(
    ("entry", "content", "message"),
    [
        (symlink_entry("m/run.json"), "/etc/passwd", r"symbolic links \('m/run.json'\)"),
        (symlink_entry("elsewhere/x"), "../../x", "symbolic links"),
        (zipfile.ZipInfo("m/.."), "x", "not file names"),
        (zipfile.ZipInfo("m\\.."), "x", "not file names"),
    ],
    ids=["link-to-etc", "link-anywhere", "dot-dot", "backslash-dot-dot"],
)
def test_a_zip_with_links_or_odd_names_is_refused_and_the_data_kept(
    model_dir, entry, content, message
):
    at = open_app(PAGE)
    at.file_uploader(key="data_w_model_zip").set_value(
        ("m.zip", zip_with(model_dir, entry, content), "application/zip")
    )
    at.run()
    (error,) = [shown(e.value) for e in at.error]
    assert re.search(message, error), error
    assert at.session_state["data_dataset"].name == SAMPLE_NAME


def test_a_zipped_manifest_cannot_name_files_elsewhere_on_the_server(model_dir):
    # A zip holding only a manifest whose file names are paths of another model on the server
    # opened that model: its ratings and factors reached the uploading session.
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["files"] = {role: str(model_dir / name) for role, name in manifest["files"].items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/manifest.json", json.dumps(manifest))
    at = open_app(PAGE)
    at.file_uploader(key="data_w_model_zip").set_value(
        ("innocent.zip", buffer.getvalue(), "application/zip")
    )
    at.run()
    (error,) = [shown(e.value) for e in at.error]
    assert "must be plain file names" in error
    assert at.session_state["data_dataset"].name == SAMPLE_NAME
    assert session.MODEL_FIT_KEY not in at.session_state


def test_a_zip_made_on_windows_opens(model_dir, loaded):
    # Windows tools may write "folder\\file" names: the backslash separates folders there.
    zipped_model = zipped(model_dir, folder="my-model\\")
    dataset, fit = model_open.open_model_zip(zipped_model, "windows.zip")
    np.testing.assert_array_equal(fit.model.item_factors_, loaded.item_factors_)


def test_unpacking_writes_only_beside_the_manifest_and_never_outside(model_dir, tmp_path):
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w") as archive:
        for path in model_dir.iterdir():
            archive.write(path, "m/" + path.name)
        archive.writestr("../escape.txt", "no")
        archive.writestr("m/sub/other.txt", "no")
    target = tmp_path / "unpacked"
    target.mkdir()
    model_open._unpack_model_zip(content.getvalue(), "m.zip", target)
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in model_dir.iterdir())
    assert not (tmp_path / "escape.txt").exists()


def link_session(data: str) -> AppTest:
    """A new browser session opened from a link (a reload of the page does the same)."""
    return open_app(params={"page": "latent", "data": data})


def test_a_link_or_a_reload_opens_the_model_directory_again(model_dir, tmp_path):
    at = link_session(f"model:{model_dir.resolve()}")
    assert at.session_state["data_dataset"].source == f"model:{model_dir.resolve()}"
    assert not at.warning
    at = link_session(f"model:{tmp_path / 'gone'}")
    assert "could not be loaded (There is no" in shown(at.warning[0].value)
    assert at.session_state["data_dataset"].name == SAMPLE_NAME
    at = link_session("model-upload:mine.zip")  # a link cannot carry an upload
    assert "uploaded model, mine.zip" in shown(at.warning[0].value)


# ----------------------------------------------------------------------------- exploring it
def user_with_ratings(model: ac.ALS) -> int:
    """A user in the middle of the pack (not the page's default), to pick by hand."""
    counts = model.user_counts_
    return int(np.argsort(-counts, kind="stable")[len(counts) // 2])


def test_latent_space_recommends_what_the_saved_model_recommends(opened, loaded):
    at = show(opened, "pages/latent.py")
    train = loaded.train_ratings_
    users, items = embed.user_labels(train), embed.item_labels(train)
    user = user_with_ratings(loaded)
    at.selectbox(key="latent_user").set_value(users[user]).run()
    assert not at.exception
    n = at.slider(key="latent_n").value
    expected = loaded.recommend(user, n=n)
    recs = at.dataframe[1].value  # neighbours, then recommendations
    assert list(recs["item"]) == list(items[expected["item"].to_numpy()])
    np.testing.assert_allclose(recs["score"], expected["score"].round(3), atol=1e-9)
    item = int(np.argmax(loaded.item_counts_))  # the page opens on the most rated item
    neighbours = ac.nearest_neighbours(loaded.item_factors_, item, n=n, labels=items)
    assert list(at.dataframe[0].value["item"]) == list(neighbours["label"])


def test_reconstruction_shows_the_saved_model_without_validation_marks(opened, loaded):
    at = show(opened, "pages/reconstruction.py")
    caption = " ".join(c.value for c in at.caption)
    assert "rated." in caption and "validation" not in caption
    train = loaded.train_ratings_
    users = embed.most_active(train.user_counts(), at.slider(key="recon_n_users").value)
    items = embed.most_active(train.item_counts(), at.slider(key="recon_n_items").value)
    grid = ac.reconstruction_grid(loaded, train, None, users, items)
    assert f"{int(grid.n_observed.sum()):,} rated." in caption  # the same cells, same count


def test_add_yourself_folds_in_against_the_saved_item_factors(opened, loaded):
    at = show(opened, "pages/add_yourself.py")
    at.button(key="you_example").click().run()
    assert not at.exception
    items = data_summary.popular_items(loaded.item_counts_, 12)
    stars = [
        at.session_state[f"you_stars_{opened.session_state['data_fingerprint'][:10]}_{i}"]
        for i in items
    ]
    scale = loaded.train_ratings_.rating_scale
    values = [fold_in.stars_to_rating(s + 1, scale) for s in stars]
    placed = fold_in.fold_in_user(loaded, items, np.array(values), n_top=10, n_users=5)
    users = embed.user_labels(loaded.train_ratings_)
    assert list(at.dataframe[0].value["user"]) == list(users[placed.neighbours])


def test_one_update_by_hand_solves_from_the_saved_factors(opened, loaded):
    at = show(opened, "pages/update.py")
    assert at.select_slider(key="update_iteration").options == ["one more (from the trained model)"]
    assert "Checked:" in at.success[0].value
    user = at.selectbox(key="update_user").value
    row = int(np.flatnonzero(embed.user_labels(loaded.train_ratings_) == user)[0])
    problem = update_by_hand.update_problem(
        loaded, loaded.train_ratings_, fit_states.final_state(loaded), side="users", row=row
    )
    x, b = loaded.fold_in(problem.cols, problem.ratings)  # the same solve, by the library
    np.testing.assert_allclose(problem.solution, np.append(x, b), atol=1e-8)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Ridge on the diagonal"] == f"{problem.ridge:.4g}"


def test_replay_and_train_say_the_model_was_trained_outside_instead_of_refitting(opened):
    at = show(opened, "pages/replay.py")
    assert replay_fit.REPLAY_NOTE in [shown(i.value) for i in at.info]
    at = show(opened, "pages/train.py")
    assert model_open.EXTERNAL_MODEL_NOTE in shown(at.info[0].value)
    assert not [s for s in at.slider if s.key == "train_w_k"]  # no settings panel to refit with
    assert {m.label: m.value for m in at.metric}["Rank k"] == "3"


def test_experiments_work_on_small_saved_ratings_and_refuse_big_ones(opened, monkeypatch):
    at = show(opened, "pages/experiments.py")
    assert any("opened model itself stays" in c.value for c in at.caption)
    assert at.button(key="exp_compare_run")  # the experiment is there, waiting for Run
    monkeypatch.setattr(model_open, "MAX_REFIT_RATINGS", 10)
    at = show(opened, "pages/experiments.py")
    assert "more than the 10 this shared server refits" in shown(at.info[0].value)
    assert not [b for b in at.button if b.key == "exp_compare_run"]


def test_every_page_loads_on_the_opened_model_without_refitting(opened):
    for page in (
        "pages/theory.py",
        "pages/latent.py",
        "pages/reconstruction.py",
        "pages/add_yourself.py",
        "pages/update.py",
        "pages/replay.py",
        "pages/train.py",
        "pages/experiments.py",
        "pages/data.py",
    ):
        at = show(opened, page)
        assert "Model: movie-night-k3" in sidebar_text(at), page


def test_training_here_instead_puts_the_model_aside(opened, monkeypatch):
    monkeypatch.undo()  # training is what this test asks for
    at = show(opened, "pages/train.py")
    at.button(key="train_model_train_here").click().run()
    assert not at.exception
    dataset = at.session_state["data_dataset"]
    assert dataset.source.startswith(model_open.MODEL_RATINGS_SOURCE)
    assert session.MODEL_FIT_KEY not in at.session_state
    assert at.slider(key="train_w_k")  # the usual Train page, with a model trained here


def test_sessions_share_one_read_only_copy_of_a_directory_and_stay_apart(opened, model_dir):
    other = open_app(PAGE)
    assert other.session_state["data_dataset"].name == SAMPLE_NAME  # not the first session's
    open_directory(other, str(model_dir))
    first = opened.session_state[session.MODEL_FIT_KEY].model
    assert other.session_state[session.MODEL_FIT_KEY].model is first  # read once per server


def test_choosing_other_data_drops_the_opened_model(opened):
    at = opened
    at.button(key="data_use_sample").click().run()
    assert at.session_state["data_dataset"].name == SAMPLE_NAME
    assert session.MODEL_FIT_KEY not in at.session_state


# ----------------------------------------------------------------------------- pure parts
def test_model_settings_keep_two_models_of_the_same_ratings_apart(loaded):
    other = ac.ALS(k=3, lam=0.5, iterations=6, biases=True, seed=8).fit(loaded.train_ratings_)
    first, second = model_open.model_settings(loaded), model_open.model_settings(other)
    assert first["model"] != second["model"]
    assert settings_key(first) != settings_key(second)
    assert first["split"] == "none" and first["k"] == 3 and first["biases"] is True


def test_from_codes_reads_sorted_pairs_as_it_reads_shuffled_ones():
    rng = np.random.default_rng(0)
    cells = np.unique(rng.integers(0, 40 * 30, size=300))
    rows, cols = cells // 30, cells % 30
    values, stamps = rng.uniform(1, 5, len(cells)), rng.uniform(0, 1e9, len(cells))
    order = rng.permutation(len(cells))
    in_order = ac.Ratings.from_codes(rows, cols, values, timestamps=stamps, shape=(40, 30))
    shuffled = ac.Ratings.from_codes(
        rows[order], cols[order], values[order], timestamps=stamps[order], shape=(40, 30)
    )
    assert in_order.fingerprint() == shuffled.fingerprint()
    with pytest.raises(ac.RatingsError, match="duplicate"):
        ac.Ratings.from_codes([0, 0, 1], [2, 2, 0], [1.0, 2.0, 3.0])  # sorted, with a repeat
