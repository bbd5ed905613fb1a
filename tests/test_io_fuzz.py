"""Fuzz the reader: random bytes and mangled CSVs give valid Ratings or RatingsError, nothing else.

The tests call the reader without its last-resort wrapper (``als_core.io._read``), so a bug that
the wrapper would turn into a generic RatingsError still fails here.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import als_core as ac
from als_core import io as aio

FUZZ = settings(
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

options = st.builds(
    aio._Options,
    wide=st.sampled_from([None, True, False]),
    separator=st.sampled_from([None, None, None, ",", ";", "\t", "|", "::", " "]),
    header=st.sampled_from([None, None, True, False]),
    zero_is_missing=st.booleans(),
    drop_invalid=st.booleans(),
    duplicates=st.sampled_from(["error", "last", "first", "mean"]),
    columns=st.sampled_from(
        [None, None, {"user": 0, "item": 1, "rating": 2}, {"rating": "rating"}, {"user": 7}]
    ),
)

weird_text = st.text(alphabet="ab01 7-.,;|:\t\"'\\\r\nxé€", max_size=6)
ids = st.one_of(
    st.integers(0, 5).map(str),
    st.sampled_from(["007", "7", "Zoë", "a b", "x,y", "-3", "1.5", ""]),
    weird_text,
)
ratings_text = st.one_of(
    st.integers(-1, 5).map(str),
    st.sampled_from(["3.5", "4,5", "-0.5", "nan", "inf", "", "abc", "1e308", "1e309"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    weird_text,
)


@st.composite
def mangled_csv(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|", "::", " ", "  "]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    wide = draw(st.booleans())
    rows = []
    if wide:
        n_items = draw(st.integers(1, 5))
        corner = draw(st.sampled_from(["", "user"]))
        rows.append(sep.join([corner] + [draw(ids) for _ in range(n_items)]))
        for _ in range(draw(st.integers(0, 8))):
            cells = [draw(st.one_of(st.just(""), ratings_text)) for _ in range(n_items)]
            rows.append(sep.join([draw(ids), *cells]))
    else:
        if draw(st.booleans()):
            names = draw(st.sampled_from([["user", "item", "rating"], ["a", "b", "c"]]))
            rows.append(sep.join(names))
        for _ in range(draw(st.integers(0, 12))):
            fields = [draw(ids), draw(ids), draw(ratings_text)]
            if draw(st.booleans()):
                fields.append(draw(st.one_of(st.integers(0, 10**10).map(str), weird_text)))
            if draw(st.booleans()):
                fields = [f'"{f}"' for f in fields]
            rows.append(sep.join(fields))
    text = newline.join(rows) + draw(st.sampled_from(["", newline, newline * 2]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = bytearray(text.encode(encoding, errors="replace"))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):  # random damage
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "flip", "duplicate"]))
        if kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


def _check(data: bytes, opts: aio._Options) -> None:
    try:
        ratings, report = aio._read(data, opts)
    except ac.RatingsError as exc:
        assert str(exc), "a RatingsError must say what is wrong"
        return
    assert isinstance(ratings, ac.Ratings)
    m = ratings.matrix
    assert m.format == "csr" and m.has_canonical_format
    assert np.all(np.isfinite(m.data))
    assert len(ratings.user_ids) == m.shape[0] and len(ratings.item_ids) == m.shape[1]
    assert np.count_nonzero(ratings.user_counts()) >= 2
    assert np.count_nonzero(ratings.item_counts()) >= 2
    assert report.n_ratings == ratings.nnz
    assert report.summary()


@FUZZ
@given(data=st.binary(max_size=3000), opts=options)
def test_random_bytes_give_ratings_or_ratings_error(data, opts):
    _check(data, opts)


@FUZZ
@given(data=mangled_csv(), opts=options)
def test_mangled_csv_gives_ratings_or_ratings_error(data, opts):
    _check(data, opts)


@FUZZ
@given(data=mangled_csv())
def test_inspect_never_raises_anything_but_ratings_error(data):
    try:
        report = aio.inspect_ratings(data)
    except ac.RatingsError:
        return
    assert report.preview is not None
    assert len(report.preview.columns) == len(report.header_names)
