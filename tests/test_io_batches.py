"""read_ratings reads a large file in batches: the result must not depend on where they split.

The batch size and the size of the groups of ids factorised together are shrunk here so that
small files cross many boundaries; the expected result is computed independently with pandas.
"""

import numpy as np
import pandas as pd
import pytest

import als_core as ac
import als_core.io as io_module


@pytest.fixture
def tiny_batches(monkeypatch):
    monkeypatch.setattr(io_module, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(io_module, "_GROUP_ROWS", 7)


def frame(n=400, seed=0, text_ids=False):
    rng = np.random.default_rng(seed)
    users = rng.integers(1, 40, n)
    items = rng.integers(1, 30, n)
    out = pd.DataFrame(
        {
            "user": users.astype(str),
            "item": items.astype(str),
            "rating": rng.integers(1, 11, n) / 2,
            "timestamp": rng.integers(10**9, 2 * 10**9, n),
        }
    )
    if text_ids:  # integers first, text only far down: the column turns into text mid-file
        out.loc[n - 5 :, "item"] = "x" + out.loc[n - 5 :, "item"]
    return out


def expected(df: pd.DataFrame, policy: str) -> dict:
    grouped = df.groupby(["user", "item"], sort=False)["rating"]
    merged = {"mean": grouped.mean(), "first": grouped.first(), "last": grouped.last()}[policy]
    return {(str(u), str(i)): v for (u, i), v in merged.items()}


def as_dict(r: ac.Ratings) -> dict:
    rows, cols, vals = r.coo()
    return {
        (str(r.user_ids[u]), str(r.item_ids[i])): v
        for u, i, v in zip(rows, cols, vals, strict=True)
    }


@pytest.mark.parametrize("policy", ["mean", "first", "last"])
@pytest.mark.parametrize("text_ids", [False, True])
def test_many_batches_give_what_pandas_gives(tiny_batches, policy, text_ids):
    df = frame(text_ids=text_ids)
    data = df.to_csv(index=False).encode()
    ratings, report = ac.read_ratings_report(data, duplicates=policy)
    assert as_dict(ratings) == pytest.approx(expected(df, policy), abs=1e-12)
    # Ids are numbered in order of first appearance, as pandas.factorize numbers them.
    assert [str(u) for u in ratings.user_ids] == list(pd.unique(df["user"]))
    assert [str(i) for i in ratings.item_ids] == list(pd.unique(df["item"]))
    assert report.id_types["item"] == ("text" if text_ids else "integer")
    assert ratings.user_ids.dtype == np.int64
    dup = df.duplicated(["user", "item"], keep=False)
    assert report.duplicates.pairs == df.loc[dup, ["user", "item"]].drop_duplicates().shape[0]


def test_many_batches_read_the_same_from_a_path(tiny_batches, tmp_path):
    df = frame(seed=3)
    path = tmp_path / "ratings.csv"
    df.to_csv(path, index=False, lineterminator="\r\n")
    from_path = ac.read_ratings(path)
    from_bytes = ac.read_ratings(path.read_bytes())
    assert from_path.fingerprint() == from_bytes.fingerprint()
    assert as_dict(from_path) == pytest.approx(expected(df, "mean"), abs=1e-12)


def test_line_numbers_hold_across_batches_blank_lines_and_quoted_line_breaks(tiny_batches):
    rows = [f'{u},{u % 7},{1 + u % 5},"note {u}"' for u in range(60)]
    rows[20] = '20,6,1,"a note\nover two lines"'
    rows[30] = ""
    rows[41] = "41,6,abc,x"
    data = ("user,item,rating,comment\n" + "\n".join(rows) + "\n").encode()
    line = data.split(b"\n").index(b"41,6,abc,x") + 1
    assert line == 44
    with pytest.raises(ac.RatingsError, match=rf"line {line} 'abc'"):
        ac.read_ratings(data)
    ratings, report = ac.read_ratings_report(data, drop_invalid=True)
    assert report.blank_lines == 1  # the empty line, not the quoted line break
    assert ratings.nnz == 58
