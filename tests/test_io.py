"""read_ratings: dialects, layouts, ids, mappings, reports, a clear error for every bad input."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from tests.shared_data import movielens_small, needs_movielens_small

TRIPLES = [("1", "10", 5.0), ("1", "11", 3.5), ("2", "10", 1.0), ("3", "12", 4.5), ("2", "12", 2.0)]


def as_dict(r: ac.Ratings) -> dict:
    """{(user label, item label): rating}, computed from the CSR arrays independently."""
    rows, cols, vals = r.coo()
    return {
        (r.user_ids[u].item() if hasattr(r.user_ids[u], "item") else r.user_ids[u],
         r.item_ids[i].item() if hasattr(r.item_ids[i], "item") else r.item_ids[i]): v
        for u, i, v in zip(rows, cols, vals, strict=True)
    }  # fmt: skip


def expected(triples, cast=int) -> dict:
    return {(cast(u), cast(i)): v for u, i, v in triples}


def lines(*rows: str, newline: str = "\n") -> bytes:
    return (newline.join(rows) + newline).encode()


# ----------------------------------------------------------------------------- long form
@pytest.mark.parametrize(
    "names",
    [
        ("user", "item", "rating"),
        ("user_id", "item_id", "rating"),
        ("userId", "movieId", "rating"),
        ("UID", "book_id", "score"),
        ("customer_id", "product_id", "stars"),
        ("User-ID", "ISBN", "Book-Rating"),
        ("reviewerID", "asin", "overall"),
        ("USER", "ITEM", "VALUE"),
    ],
)
def test_columns_are_found_by_name_in_any_order(names):
    # Put the columns in a shuffled order with an extra column, to prove names are used.
    u, i, r = names
    header = f"note,{r},{i},{u}"
    body = [f"x,{v},{it},{us}" for us, it, v in TRIPLES]
    ratings, report = ac.read_ratings_report(lines(header, *body))
    assert as_dict(ratings) == expected(TRIPLES)
    assert report.columns == {"user": u, "item": i, "rating": r, "timestamp": None}
    assert report.ignored_columns == ["note"]
    assert report.header is True and report.layout == "long"


@pytest.mark.parametrize(
    ("sep", "name"),
    [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe"), ("::", "'::'")],
)
@pytest.mark.parametrize("header", [True, False])
def test_separators_are_detected_with_and_without_header(sep, name, header):
    rows = [sep.join(["user", "item", "rating"])] if header else []
    rows += [sep.join([u, i, str(v)]) for u, i, v in TRIPLES]
    ratings, report = ac.read_ratings_report(lines(*rows))
    assert as_dict(ratings) == expected(TRIPLES)
    assert report.separator == sep and name in report.separator_name
    assert report.header is header


def test_runs_of_spaces_librec_style():
    data = b"  1   10  5\n1 11\t3.5\n2 10 1   \n3   12 4.5\n2 12 2\n"
    ratings, report = ac.read_ratings_report(data)
    assert as_dict(ratings) == expected(TRIPLES)
    assert report.separator == " " and report.header is False


def test_movielens_1m_dialect_with_timestamps():
    data = lines(
        "1::1193::5::978300760", "1::661::3::978302109", "2::1193::4::978301968",
        newline="\r\n",
    )  # fmt: skip
    ratings, report = ac.read_ratings_report(data)
    assert as_dict(ratings) == {(1, 1193): 5.0, (1, 661): 3.0, (2, 1193): 4.0}
    assert report.columns["timestamp"] == "column 4"
    # timestamps follow the CSR order: user 1's items sorted by column index (1193 then 661)
    rows, cols, _ = ratings.coo()
    by_pair = {(ratings.user_ids[u], ratings.item_ids[i]): t for u, i, t in
               zip(rows, cols, ratings.timestamps, strict=True)}  # fmt: skip
    assert by_pair == {(1, 1193): 978300760.0, (1, 661): 978302109.0, (2, 1193): 978301968.0}


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("latin-1", "Latin-1"),
        ("utf-16", "UTF-16"),
    ],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_encodings_and_line_endings(encoding, label, newline):
    text = newline.join(["userId,title,rating", "Zoë,Café,5", "José,Thé,4", "Zoë,Thé,2"])
    ratings, report = ac.read_ratings_report(text.encode(encoding))
    assert as_dict(ratings) == {("Zoë", "Café"): 5.0, ("José", "Thé"): 4.0, ("Zoë", "Thé"): 2.0}
    assert label in report.encoding
    assert report.line_ending == {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}[newline]
    assert report.columns["user"] == "userId"  # the BOM does not stick to the first name


def test_quoted_fields_keep_separators_and_quotes():
    data = lines(
        "user,item,rating",
        '"Smith, J","The Matrix, 1999",5',
        '"Doe","He said ""hi""",4',
        'Doe,"The Matrix, 1999",3',
    )
    assert as_dict(ac.read_ratings(data)) == {
        ("Smith, J", "The Matrix, 1999"): 5.0,
        ("Doe", 'He said "hi"'): 4.0,
        ("Doe", "The Matrix, 1999"): 3.0,
    }


def test_ids_are_kept_as_given():
    data = lines("user,item,rating", "007,1,5", "7,2,4", "0,1,3", "-3,2,1")
    r = ac.read_ratings(data)
    # one id with a leading zero makes the whole column text: "007" and "7" stay different
    assert r.user_ids.tolist() == ["007", "7", "0", "-3"]
    assert r.item_ids.dtype == np.int64 and r.item_ids.tolist() == [1, 2]
    big = ac.read_ratings(lines("u,i,r", "12345678901234567890,1,5", "2,2,4"))
    assert big.user_ids.tolist() == ["12345678901234567890", "2"]  # beyond int64: text
    decimal_ids = ac.read_ratings(lines("u,i,r", "1.0,1,5", "2,2,4"))
    assert decimal_ids.user_ids.tolist() == ["1.0", "2"]


def test_decimal_negative_and_exponent_ratings():
    data = lines("user,item,rating", "a,x,-2.5", "a,y,0", "b,x,1e-1", "b,y,+3")
    assert as_dict(ac.read_ratings(data)) == {
        ("a", "x"): -2.5, ("a", "y"): 0.0, ("b", "x"): 0.1, ("b", "y"): 3.0,
    }  # fmt: skip


def test_decimal_comma_with_semicolons_is_read_and_reported():
    data = lines("user;item;rating", "a;x;3,5", "a;y;4", "b;x;-1,25", "b;y;2")
    ratings, report = ac.read_ratings_report(data)
    assert as_dict(ratings) == {
        ("a", "x"): 3.5,
        ("a", "y"): 4.0,
        ("b", "x"): -1.25,
        ("b", "y"): 2.0,
    }
    assert report.decimal_comma
    assert any("decimal comma" in s for s in report.summary())


def test_date_timestamps_become_seconds():
    data = lines("user,item,rating,date", "1,1,5,1970-01-02", "2,2,4,1970-01-01T00:01:00Z")
    r = ac.read_ratings(data)
    assert sorted(r.timestamps.tolist()) == [60.0, 86400.0]


def test_blank_lines_are_skipped_and_counted():
    data = lines("user,item,rating", "", "1,10,5", "", "", "2,11,4", "1,11,3")
    ratings, report = ac.read_ratings_report(data)
    assert ratings.nnz == 3
    assert report.blank_lines == 3


def test_header_names_unknown_uses_positions_and_says_so():
    ratings, report = ac.read_ratings_report(lines("a,b,c", "1,10,5", "2,11,4", "1,11,2"))
    assert as_dict(ratings) == {(1, 10): 5.0, (2, 11): 4.0, (1, 11): 2.0}
    assert report.mapped_by == "columns taken by position"
    assert any("not recognised" in w for w in report.warnings)


# ----------------------------------------------------------------------------- mapping
def test_explicit_mapping_by_name_overrides_detection():
    # Detection would take user=user, item=item, rating=rating; the caller swaps them.
    data = lines("user,item,rating,stars", "1,10,5,2", "2,11,4,1", "1,11,3,5")
    r, report = ac.read_ratings_report(
        data, columns={"user": "item", "item": "user", "rating": "stars"}
    )
    assert as_dict(r) == {(10, 1): 2.0, (11, 2): 1.0, (11, 1): 5.0}
    assert report.mapped_by.startswith("columns as given")


def test_explicit_mapping_by_position_without_header():
    data = lines("5,1,10", "4,2,11", "3,1,11")
    r = ac.read_ratings(data, columns={"rating": 0, "user": 1, "item": 2})
    assert as_dict(r) == {(1, 10): 5.0, (2, 11): 4.0, (1, 11): 3.0}


def test_explicit_timestamp_none_ignores_the_timestamp_column():
    data = lines("user,item,rating,timestamp", "1,10,5,oops", "2,11,4,later", "1,11,3,x")
    r = ac.read_ratings(data, columns={"timestamp": None})
    assert r.timestamps is None and r.nnz == 3


def test_forced_separator_header_and_layout():
    comma = lines("user,item,rating", "1,10,5", "2,11,4")
    assert as_dict(ac.read_ratings(comma, separator=",")) == {(1, 10): 5.0, (2, 11): 4.0}
    with pytest.raises(ac.RatingsError, match="separator semicolon every line has a single"):
        ac.read_ratings(comma, separator=";")
    # header=False: the header line becomes a row whose rating is not a number
    r, report = ac.read_ratings_report(comma, header=False, drop_invalid=True)
    assert as_dict(r) == {(1, 10): 5.0, (2, 11): 4.0} and report.rows_dropped == 1
    # a matrix read as long form on request: no item or rating column, so it says so
    with pytest.raises(ac.RatingsError, match="no item / rating column"):
        ac.read_ratings(lines("user,A,B", "x,1,2", "y,3,4"), wide=False)
    assert ac.read_ratings(lines("user,A,B", "x,1,2", "y,3,4")).shape == (2, 2)


# ----------------------------------------------------------------------------- wide form
def test_wide_tiny_file_matches_the_picture():
    r, report = ac.read_ratings_report(
        Path(__file__).resolve().parents[1] / "data" / "tiny_wide.csv"
    )
    assert report.layout == "wide"
    wide = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "tiny_wide.csv")
    independent = {
        (u, item): float(v)
        for u, row in zip(wide["user"], wide.drop(columns="user").to_numpy(), strict=True)
        for item, v in zip(wide.columns[1:], row, strict=True)
        if not np.isnan(v)
    }
    assert as_dict(r) == independent
    assert r.user_ids.tolist() == wide["user"].tolist()
    assert r.item_ids.tolist() == list(wide.columns[1:])


def test_wide_zero_is_missing_and_empty_cells():
    data = lines("user,A,B,C", "x,1,0,3", "y,,2,0", "z,0,,1")
    kept = ac.read_ratings(data)
    assert as_dict(kept) == {("x", "A"): 1.0, ("x", "B"): 0.0, ("x", "C"): 3.0,
                             ("y", "B"): 2.0, ("y", "C"): 0.0, ("z", "A"): 0.0,
                             ("z", "C"): 1.0}  # fmt: skip
    dropped, report = ac.read_ratings_report(data, zero_is_missing=True)
    assert as_dict(dropped) == {("x", "A"): 1.0, ("x", "C"): 3.0, ("y", "B"): 2.0, ("z", "C"): 1.0}
    assert report.zeros_dropped == 3


def test_wide_with_empty_corner_numeric_ids_and_r_style_header():
    corner = ac.read_ratings(lines(",10,20,30", "1,5,,1", "2,,4,2"))
    assert as_dict(corner) == {(1, 10): 5.0, (1, 30): 1.0, (2, 20): 4.0, (2, 30): 2.0}
    r_style, report = ac.read_ratings_report(lines("10,20,30", "1,5,,1", "2,,4,2"))
    assert as_dict(r_style) == as_dict(corner)
    assert any("R writes" in w for w in report.warnings)


def test_wide_forced_on_a_three_column_matrix():
    r = ac.read_ratings(lines("who,A,B", "x,1,2", "y,3,4"), wide=True)
    assert as_dict(r) == {("x", "A"): 1.0, ("x", "B"): 2.0, ("y", "A"): 3.0, ("y", "B"): 4.0}


def test_wide_invalid_cell_says_line_and_column_and_can_be_dropped():
    data = lines("user,A,B,C", "x,1,2,3", "y,4,five,6", "z,7,8,9")
    with pytest.raises(ac.RatingsError, match=r"1 cell.*line 3, column 'B': 'five'"):
        ac.read_ratings(data)
    r, report = ac.read_ratings_report(data, drop_invalid=True)
    assert r.nnz == 8 and report.rows_dropped == 1


# ----------------------------------------------------------------------------- duplicates
DUPS = lines("user,item,rating,timestamp", "1,10,5,100", "1,11,2,101", "1,10,3,102",
             "2,10,4,103", "1,10,1,104", "2,11,1,105")  # fmt: skip


@pytest.mark.parametrize("policy", ["last", "first", "mean"])
def test_duplicate_policies_match_pandas(policy):
    r, report = ac.read_ratings_report(DUPS, duplicates=policy)
    frame = pd.read_csv(io.BytesIO(DUPS))
    grouped = frame.groupby(["user", "item"])["rating"]
    truth = {"last": grouped.last(), "first": grouped.first(), "mean": grouped.mean()}[policy]
    assert as_dict(r) == {k: pytest.approx(v) for k, v in truth.to_dict().items()}
    assert report.duplicate_pairs == 1 and report.duplicate_rows_merged == 2
    assert policy in report.duplicate_policy
    if policy == "mean":  # the merged pair keeps its latest timestamp
        rows, cols, _ = r.coo()
        ts = {(r.user_ids[u], r.item_ids[i]): t for u, i, t in
              zip(rows, cols, r.timestamps, strict=True)}  # fmt: skip
        assert ts[(1, 10)] == 104.0


def test_duplicates_load_by_default_with_a_note_saying_where():
    ratings, report = ac.read_ratings_report(DUPS)
    assert as_dict(ratings)[(1, 10)] == pytest.approx(3.0)  # mean of 5, 3 and 1
    note = report.duplicates
    assert (note.pairs, note.rows_merged, note.policy) == (1, 2, "mean")
    assert (note.user, note.item, note.values) == (1, 10, (5.0, 3.0, 1.0))
    assert note.lines == (2, 4, 6) and note.rows == (0, 2, 4) and note.columns == ()
    sentence = (
        "1 (user, item) pair was rated more than once (first: user 1, item 10 on lines 2, 4 "
        "and 6); kept the mean of each"
    )
    assert note.sentence() == sentence
    assert any(sentence in line for line in report.summary())
    assert json.loads(json.dumps(report.to_dict()))["duplicates"]["lines"] == [2, 4, 6]


def test_refused_duplicates_raise_with_the_note_and_no_option_names():
    with pytest.raises(ac.DuplicateRatingsError) as caught:
        ac.read_ratings(DUPS, duplicates="error")
    assert str(caught.value) == (
        "1 (user, item) pair was rated more than once (first: user 1, item 10 on lines 2, 4 "
        "and 6); choose which rating to keep: the mean, the first or the last"
    )
    assert caught.value.note.lines == (2, 4, 6) and caught.value.note.policy == "error"


def test_the_first_duplicate_is_the_one_repeated_earliest_in_the_file():
    data = lines(
        "user,item,rating", "", "9,9,1", "1,1,5", "2,2,4", "", "2,2,3", "1,1,2", "9,9,5",
        newline="\r\n",
    )  # fmt: skip
    _, report = ac.read_ratings_report(data, duplicates="last")
    note = report.duplicates
    assert (note.pairs, note.user, note.item, note.lines) == (3, 2, 2, (5, 7))
    assert "kept the last rating of each" in note.sentence()


def test_wide_duplicates_name_the_cells():
    data = lines("user,A,B", "x,1,2", "y,3,", "x,5,")
    ratings, report = ac.read_ratings_report(data, duplicates="first")
    assert as_dict(ratings) == {("x", "A"): 1.0, ("x", "B"): 2.0, ("y", "A"): 3.0}
    assert report.duplicates.lines == (2, 4) and report.duplicates.columns == ("A", "A")
    assert "user 'x', item 'A' on line 2 column 'A' and line 4 column 'A'" in (
        report.duplicates.sentence()
    )


# ----------------------------------------------------------------------------- bad input
BAD = [
    ("empty", b"", {}, "empty"),
    ("only spaces", b"  \n\n \r\n", {}, "empty"),
    ("header only", b"user,item,rating\n", {}, "header but no ratings"),
    ("header only crlf", b"user,item,rating\r\n\r\n", {}, "header but no ratings"),
    ("missing rating", lines("user,item,comment", "1,2,nice", "2,1,bad"), {},
     r"no rating column.*'user', 'item', 'comment'.*choose the columns"),
    ("ambiguous user", lines("user,userId,item,rating", "1,1,2,3", "2,2,1,3"), {},
     r"ambiguous user column: 'user' \(column 1\), 'userId' \(column 2\)"),
    ("non-numeric", lines("user,item,rating", "1,1,5", "1,2,abc", "2,1,4"), {},
     r"1 rating\(s\) in 'rating' \(column 3\) are not finite.*line 3 'abc'.*skip invalid rows"),
    ("nan and inf", lines("user,item,rating", "1,1,nan", "1,2,inf", "2,1,-inf", "2,2,3"), {},
     r"3 rating\(s\).*line 2 'nan', line 3 'inf', line 4 '-inf'"),
    ("empty rating", lines("user,item,rating", "1,1,", "1,2,4", "2,1,3"), {}, r"line 2 ''"),
    ("missing user", lines("user,item,rating", ",1,5", "1,2,4", "2,1,3"), {},
     r"1 row\(s\) have no user id in 'user' \(column 1\): line 2"),
    ("one user", lines("user,item,rating", "1,1,5", "1,2,4"), {}, r"1 user\(s\) and 2 item"),
    ("one item", lines("user,item,rating", "1,1,5", "2,1,4"), {}, r"2 user\(s\) and 1 item"),
    ("binary", bytes(range(256)) * 4, {}, "binary"),
    ("control chars", b"\x01\x02\x03\x04\x05\x06\x07\x08" * 20, {}, "control characters"),
    ("zip", b"PK\x03\x04" + b"\x00" * 60, {}, "zip archive"),
    ("gzip", b"\x1f\x8b\x08" + b"\x00" * 60, {}, "gzip"),
    ("too big", lines("user,item,rating", "1,1,5", "2,2,4"), {"max_bytes": 20},
     r"limit is 20 bytes; keep a sample"),
    ("ragged wide", lines("user,A,B,C", "x,1,2,3", "y,1,2", "z,,,1"), {},
     r"1 row\(s\) of the matrix do not have the 4 fields.*line 3 has 3 field"),
    ("ragged long", lines("user,item,rating", "1,1,5", "2,1", "2,2,4,9"), {},
     r"2 line\(s\).*line 3 has 2 field.*line 4 has 4 field.*skip invalid rows"),
    ("no separator", lines("1", "2", "3"), {}, "separator"),
    ("five columns no header", lines("1,2,3,4,5", "2,3,4,5,6"), {}, r"5 columns.*not certain"),
    ("unknown mapping name", lines("user,item,rating", "1,1,5", "2,2,4"),
     {"columns": {"rating": "stars"}}, r"no column of that name.*\['user', 'item', 'rating'\]"),
    ("mapping out of range", lines("user,item,rating", "1,1,5", "2,2,4"),
     {"columns": {"rating": 5}}, r"out of range.*3 columns"),
    ("bad policy", lines("user,item,rating", "1,1,5"), {"duplicates": "max"}, "duplicates must"),
    ("wide without header", lines("1,2,3", "4,5,6"), {"wide": True, "header": False},
     "needs a header row"),
    ("utf8 bom then garbage", b"\xef\xbb\xbfuser,item,rating\n\xff\xfe,1,2\n", {},
     "not valid UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "data", "kwargs", "pattern"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_ratings_error_saying_what_and_where(label, data, kwargs, pattern):
    with pytest.raises(ac.RatingsError, match=pattern):
        ac.read_ratings(data, **kwargs)


def test_ratings_error_is_the_only_error_type_for_a_missing_path(tmp_path):
    with pytest.raises(ac.RatingsError, match="no file"):
        ac.read_ratings(tmp_path / "nope.csv")
    with pytest.raises(ac.RatingsError, match="expected a path"):
        ac.read_ratings(12345)
    with pytest.raises(ac.RatingsError, match=r"pass its bytes"):
        ac.read_ratings("user,item,rating\n1,2,3\n" * 40)  # text given as a path
    with pytest.raises(ac.RatingsError, match="no file"):
        ac.read_ratings("x" * 5000)  # longer than a file name may be


def test_drop_invalid_drops_and_reports_count_and_lines():
    data = lines("user,item,rating", "1,1,5", "1,2,abc", "2,1,nan", "2,2,3", "3,3", "3,1,2")
    r, report = ac.read_ratings_report(data, drop_invalid=True)
    assert as_dict(r) == {(1, 1): 5.0, (2, 2): 3.0, (3, 1): 2.0}
    assert report.rows_dropped == 3  # two bad ratings and one short line
    text = " ".join(report.dropped_examples)
    assert "line 3 'abc'" in text and "line 4 'nan'" in text and "line 6" in text
    assert any("Dropped 3" in s for s in report.summary())


def test_line_numbers_count_blank_lines_and_the_header():
    data = lines("user,item,rating", "", "1,1,5", "", "2,2,x", "1,2,4")
    with pytest.raises(ac.RatingsError, match=r"line 5 'x'"):
        ac.read_ratings(data)


def test_max_upload_size_is_the_default_limit():
    assert ac.MAX_UPLOAD_MB == 200
    import inspect

    default = inspect.signature(ac.read_ratings).parameters["max_bytes"].default
    assert default == ac.MAX_UPLOAD_MB * 2**20


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"user,item,rating\n" + b"1,1,5\n" * 200)
    with pytest.raises(ac.RatingsError, match="limit"):
        ac.read_ratings(path, max_bytes=1000)
    stream = io.BytesIO(path.read_bytes())
    with pytest.raises(ac.RatingsError, match="more than 1,000 bytes"):
        ac.read_ratings(stream, max_bytes=1000)


# ----------------------------------------------------------------------------- sources
class FakeUploadedFile(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO subclass with a name."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def test_sources_path_bytes_and_file_objects_agree(tmp_path):
    data = lines("user,item,rating", *[f"{u},{i},{v}" for u, i, v in TRIPLES])
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    upload = FakeUploadedFile(data, "ratings.csv")
    upload.read()  # a page may have read it already: the reader starts from the beginning
    results = [
        ac.read_ratings(path),
        ac.read_ratings(str(path)),
        ac.read_ratings(data),
        ac.read_ratings(bytearray(data)),
        ac.read_ratings(io.BytesIO(data)),
        ac.read_ratings(upload),
    ]
    assert all(as_dict(r) == expected(TRIPLES) for r in results)
    assert len({r.fingerprint() for r in results}) == 1
    _, report = ac.read_ratings_report(FakeUploadedFile(data, "ratings.csv"))
    assert report.source == "ratings.csv" and report.size_bytes == len(data)


def test_synthetic_ratings_survive_a_csv_round_trip():
    truth = ac.synthetic(n_users=300, n_items=200, density=0.05, seed=5).ratings
    data = truth.to_frame().to_csv(index=False).encode()
    back = ac.read_ratings(data)
    assert as_dict(back) == as_dict(truth)
    assert back.user_ids.dtype == np.int64


# ----------------------------------------------------------------------------- reports
def test_report_is_json_friendly_and_summarises_the_detection():
    data = "\ufeffuserId;movieId;rating\r\n1;2;3,5\r\n2;1;4\r\n1;1;5\r\n".encode()
    _, report = ac.read_ratings_report(data)
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["encoding"] == "UTF-8 with BOM"
    assert payload["line_ending"] == "CRLF"
    assert payload["separator_name"] == "semicolon"
    assert payload["columns"] == {"user": "userId", "item": "movieId", "rating": "rating",
                                  "timestamp": None}  # fmt: skip
    assert payload["rows_read"] == 3 and payload["n_ratings"] == 3
    summary = " ".join(report.summary())
    assert "semicolon" in summary and "a header row" in summary and "Long form" in summary


def test_ratings_notes_carry_the_summary():
    r = ac.read_ratings(lines("user,item,rating", "1,1,5", "2,2,4"))
    assert any("separator comma" in n for n in r.notes)


def test_inspect_offers_header_names_and_partial_guesses_when_reading_would_fail():
    data = lines("user,item,comment,stars_given", "1,2,nice,5", "2,1,bad,3")
    report = ac.inspect_ratings(data)
    assert report.header_names == ["user", "item", "comment", "stars_given"]
    assert report.columns["user"] == "user" and report.columns["rating"] is None
    assert any("no rating column" in w for w in report.warnings)
    assert report.preview.shape == (2, 4)
    assert report.preview.iloc[1].tolist() == ["2", "1", "bad", "3"]
    # the user picks the rating column; reading then works
    r = ac.read_ratings(data, columns={"rating": "stars_given"})
    assert as_dict(r) == {(1, 2): 5.0, (2, 1): 3.0}


def test_inspect_on_a_wide_file():
    report = ac.inspect_ratings(Path(__file__).resolve().parents[1] / "data" / "tiny_wide.csv")
    assert report.layout == "wide" and report.columns == {"user": "user"}
    assert report.preview.shape == (5, 7)


@needs_movielens_small("ratings.csv")
def test_real_movielens_latest_small():
    path = movielens_small("ratings.csv") / "ratings.csv"
    r, report = ac.read_ratings_report(path)
    assert (r.n_users, r.n_items, r.nnz) == (610, 9724, 100836)
    assert report.line_ending == "CRLF"
    assert report.columns == {"user": "userId", "item": "movieId", "rating": "rating",
                              "timestamp": "timestamp"}  # fmt: skip
    frame = pd.read_csv(path)
    first = frame.iloc[0]
    u = int(np.flatnonzero(r.user_ids == first["userId"])[0])
    i = int(np.flatnonzero(r.item_ids == first["movieId"])[0])
    assert r.matrix[u, i] == first["rating"]
    assert r.matrix.data.sum() == pytest.approx(frame["rating"].sum())
