"""read_ratings on input that used to get a misleading answer: each gets a specific message."""

import pytest

import als_core as ac
import als_core.io as io_module


def lines(*rows: str, newline: str = "\n") -> bytes:
    return (newline.join(rows) + newline).encode()


@pytest.mark.parametrize(
    "data",
    [
        b'[{"user": 1, "item": 2, "rating": 3}, {"user": 2, "item": 1, "rating": 4}]',
        b'{"user": 1, "item": 2, "rating": 3}\n{"user": 2, "item": 1, "rating": 4}\n',
        b'  {\n  "ratings": [[1, 2, 3], [2, 1, 4]]\n}\n',
    ],
    ids=["array", "json-lines", "object"],
)
def test_json_is_named_as_json(data):
    with pytest.raises(ac.RatingsError, match=r"^this looks like JSON .*not a table of ratings"):
        ac.read_ratings(data)


def test_a_saved_web_page_is_named_as_html():
    data = b"<!DOCTYPE html>\n<html><body>ratings.csv</body></html>\n"
    with pytest.raises(ac.RatingsError, match=r"web page \(HTML\)"):
        ac.read_ratings(data)


def test_a_comma_header_over_semicolon_rows_says_so_with_line_numbers():
    data = lines("user,item,rating", "1;2;3", "2;3;4", "3;1;5")
    with pytest.raises(ac.RatingsError) as caught:
        ac.read_ratings(data)
    message = str(caught.value)
    assert message.startswith("line 1 (the header, 'user,item,rating') uses the separator comma")
    assert "the lines below use semicolon (lines 2, 3 and 4)" in message


def test_mixed_separators_name_each_separator_and_its_lines():
    data = lines("user,item,rating", "1,2,3", "2;3;4", "3;1;5", "4\t5\t6")
    with pytest.raises(ac.RatingsError) as caught:
        ac.read_ratings(data)
    message = str(caught.value)
    assert "could not find a separator" not in message
    assert "comma on lines 1 and 2; semicolon on lines 3 and 4; tab on line 5" in message


def test_a_header_wider_than_the_sniffed_bytes_is_counted_whole():
    n_items = 40_000  # a header of about 270 KB, beyond the first 256 KB that are sniffed
    header = ",".join(["user"] + [f"i{j}" for j in range(n_items)])
    row_a = ",".join(["a"] + ["4"] * n_items)
    row_b = ",".join(["b"] + ["" if j % 2 else "2" for j in range(n_items)])
    data = lines(header, row_a, row_b)
    assert data.index(b"\n") > io_module._SNIFF_BYTES
    report = ac.inspect_ratings(data)
    assert len(report.header_names) == n_items + 1
    assert report.line_ending == "LF"
    ratings, report = ac.read_ratings_report(data)
    assert ratings.shape == (2, n_items)
    assert ratings.nnz == n_items + n_items // 2
    assert report.n_items == n_items


def test_a_header_longer_than_the_limit_is_refused_as_too_wide(monkeypatch):
    monkeypatch.setattr(io_module, "_MAX_LINE_BYTES", 4096)
    header = ",".join(["user"] + [f"item{j}" for j in range(1000)])
    data = lines(header, ",".join(["a"] + ["1"] * 1000), ",".join(["b"] + ["2"] * 1000))
    with pytest.raises(ac.RatingsError, match=r"the first line is .* too wide"):
        ac.read_ratings(data)
    with pytest.raises(ac.RatingsError, match=r"the first line is .* too wide"):
        ac.inspect_ratings(data)


def test_a_quoted_line_break_is_not_reported_as_blank_lines():
    data = b'user,item,rating,review\r\n1,10,4,"good\r\nvery good"\r\n2,10,3,"meh"\r\n1,11,5,x\r\n'
    ratings, report = ac.read_ratings_report(data)
    assert ratings.nnz == 3
    assert report.blank_lines == 0
    assert not any("blank" in line for line in report.summary())


def test_blank_lines_above_the_header_keep_the_header_and_the_line_numbers():
    data = lines("", "   ", "user,item,rating", "1,10,4", "", "2,10,x", "2,11,5")
    with pytest.raises(
        ac.RatingsError, match=r"1 rating\(s\) in 'rating' \(column 3\).*line 6 'x'"
    ):
        ac.read_ratings(data)
    ratings, report = ac.read_ratings_report(data, drop_invalid=True)
    assert ratings.nnz == 2 and report.header and report.blank_lines == 3


def test_messages_about_the_file_speak_no_python():
    import re

    from test_io import BAD

    for label, data, kwargs, _ in BAD:
        if kwargs:
            continue  # messages about an argument the caller gave may name it
        with pytest.raises(ac.RatingsError) as caught:
            ac.read_ratings(data)
        message = str(caught.value)
        assert not re.search(r"\w=|[{}]|als_core\.", message), (label, message)


def test_invalid_rows_carry_their_count_and_lines():
    data = lines("user,item,rating", "1,1,5", "1,2,abc", "2,1,", "2,2,1e300", "3,1,4")
    with pytest.raises(ac.InvalidRowsError) as caught:
        ac.read_ratings(data)
    assert caught.value.count == 3 and caught.value.lines == (3, 4, 5)
    assert str(caught.value).endswith("Fix or remove those lines, or skip invalid rows")
    ragged = lines("user,item,rating", "1,1,5", "1,2", "2,1,4,9", "2,2,3")
    with pytest.raises(ac.InvalidRowsError) as caught:
        ac.read_ratings(ragged)
    assert caught.value.count == 2 and caught.value.lines == (3, 4)
    wide = lines("user,A,B", "x,1,zz", "y,,2", ",3,4")
    with pytest.raises(ac.InvalidRowsError) as caught:
        ac.read_ratings(wide)
    assert caught.value.count == 2 and caught.value.lines == (2, 4)
