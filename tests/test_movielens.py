"""MovieLens 100K loader, offline: a small archive in the official layout, an injected opener."""

import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import pytest

import als_core as ac
from als_core import movielens as ml

U_DATA = [  # user item rating timestamp, tab-separated as in u.data
    (196, 242, 3, 881250949),
    (186, 302, 3, 891717742),
    (22, 377, 1, 878887116),
    (196, 377, 4, 881250950),
    (22, 242, 5, 878887117),
]
FLAGS = {242: ["Comedy"], 302: ["Crime", "Film-Noir", "Mystery", "Thriller"], 377: ["unknown"]}
TITLES = {242: "Kolya (1996)", 302: "L.A. Confidential (1997)", 377: 'Café "Heavyweights" (1994)'}


def _item_line(item: int) -> str:
    flags = ["1" if g in FLAGS[item] else "0" for g in ml.ML100K_GENRES]
    return "|".join([str(item), TITLES[item], "01-Jan-1997", "", "http://us.imdb.com/x", *flags])


def make_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("ml-100k/u.data", "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in U_DATA))
        z.writestr("ml-100k/u.item", "\n".join(map(_item_line, FLAGS)).encode("latin-1"))
        genre = "".join(f"{g}|{k}\n" for k, g in enumerate(ml.ML100K_GENRES))
        z.writestr("ml-100k/u.genre", genre)
        z.writestr("ml-100k/u.user", "22|25|M|writer|40206\n186|39|F|executive|00000\n196|49|M|"
                                     "writer|55105\n")  # fmt: skip
    return buffer.getvalue()


ARCHIVE = make_archive()
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()
MD5 = hashlib.md5(ARCHIVE).hexdigest()


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes, length: bool = True) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))} if length else {}


class FakeOpener:
    """Serves the archive like urlopen; counts calls and records the URL."""

    def __init__(self, data: bytes = ARCHIVE, length: bool = True, error: Exception | None = None):
        self.data, self.length, self.error, self.calls = data, length, error, []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        if self.error is not None:
            raise self.error
        return FakeResponse(self.data, self.length)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def load(tmp_path, opener, **kwargs):
    kwargs.setdefault("sha256", SHA256)
    kwargs.setdefault("md5", MD5)
    return ac.load_movielens_100k(cache_dir=tmp_path, opener=opener, **kwargs)


def test_downloads_verifies_caches_and_reads_ratings_with_metadata(tmp_path):
    seen = []
    opener = FakeOpener()
    r = load(tmp_path, opener, progress=lambda done, total: seen.append((done, total)))
    assert opener.calls == [(ml.ML100K_URL, 60.0)]
    assert (tmp_path / "ml-100k.zip").read_bytes() == ARCHIVE
    assert not list(tmp_path.glob("*.part"))
    # ratings: every line of u.data, at the right labels
    rows, cols, vals = r.coo()
    got = {(r.user_ids[u], r.item_ids[i]): v for u, i, v in zip(rows, cols, vals, strict=True)}
    assert got == {(u, i): float(v) for u, i, v, _ in U_DATA}
    assert sorted(r.timestamps.tolist()) == sorted(float(t) for *_, t in U_DATA)
    # metadata aligned with the item index
    info = r.item_info.set_index("id")
    for item in FLAGS:
        assert info.loc[item, "title"] == TITLES[item]  # Latin-1 'é' and quotes intact
        assert info.loc[item, "genres"] == "|".join(FLAGS[item])
    assert info.loc[302, "genre"] == "Crime" and info.loc[377, "genre"] == "unknown"
    assert r.item_info["id"].tolist() == r.item_ids.tolist()
    assert r.user_info.set_index("id").loc[186, "occupation"] == "executive"
    # progress: starts at 0, grows, ends at the full size, with the announced total
    assert seen[0] == (0, len(ARCHIVE)) and seen[-1] == (len(ARCHIVE), len(ARCHIVE))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_second_call_uses_the_cache_without_the_network(tmp_path):
    load(tmp_path, FakeOpener())
    opener = FakeOpener()
    r = load(tmp_path, opener)
    assert opener.calls == [] and r.nnz == len(U_DATA)


def test_a_corrupted_cache_is_downloaded_again(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"half a zip")
    opener = FakeOpener()
    r = load(tmp_path, opener)
    assert len(opener.calls) == 1 and r.nnz == len(U_DATA)


def test_checksum_mismatch_raises_and_caches_nothing(tmp_path):
    with pytest.raises(ac.RatingsError, match=r"does not match its checksum.*SHA-256.*Nothing"):
        load(tmp_path, FakeOpener(), sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []
    tampered = ARCHIVE[:-1] + bytes([ARCHIVE[-1] ^ 1])
    with pytest.raises(ac.RatingsError, match="MD5"):
        load(tmp_path, FakeOpener(tampered), sha256=None)


def test_progress_without_content_length_reports_unknown_total(tmp_path):
    seen = []
    load(tmp_path, FakeOpener(length=False), progress=lambda d, t: seen.append((d, t)))
    assert all(t is None for _, t in seen) and seen[-1][0] == len(ARCHIVE)


def test_network_failure_says_what_to_do(tmp_path):
    opener = FakeOpener(error=urllib.error.URLError("no route to host"))
    with pytest.raises(ac.RatingsError, match=r"could not download.*no route to host.*by hand"):
        load(tmp_path, opener)
    assert list(tmp_path.iterdir()) == []


def test_insecure_url_is_refused(tmp_path):
    opener = FakeOpener()
    with pytest.raises(ac.RatingsError, match="https"):
        load(tmp_path, opener, url="http://files.grouplens.org/datasets/movielens/ml-100k.zip")
    assert opener.calls == []


def test_archive_without_u_data_is_rejected(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("ml-100k/README", "hello")
    data = buffer.getvalue()
    with pytest.raises(ac.RatingsError, match="no u.data"):
        load(tmp_path, FakeOpener(data), sha256=hashlib.sha256(data).hexdigest(), md5=None)


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ml.default_cache_dir() == tmp_path / "als-explorer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ml.default_cache_dir() == tmp_path / "home" / ".cache" / "als-explorer"


def test_default_cache_dir_is_used_when_none_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ac.load_movielens_100k(opener=FakeOpener(), sha256=SHA256, md5=MD5)
    assert (tmp_path / "als-explorer" / "ml-100k.zip").is_file()


def test_published_checksum_constants_have_the_right_shape():
    assert len(ml.ML100K_SHA256) == 64 and int(ml.ML100K_SHA256, 16) >= 0
    assert ml.ML100K_MD5 == "0e33842e24a9c977be4e0107933c0723"
    assert ml.ML100K_URL.startswith("https://files.grouplens.org/")
    assert len(ml.ML100K_GENRES) == 19
