"""Proposed column mappings: which column is the user, item, rating and time, from the values."""

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.cli import main


def issue_example(n=80, seed=0) -> pd.DataFrame:
    """No header; user, movie, genre, review id, rating, date (the layout from issue 13)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": rng.integers(1, 15, n),
            "movie": rng.integers(100, 140, n),
            "genre": rng.choice(["Comedy", "Drama", "Action"], n),
            "review": [f"R{k:05d}" for k in range(n)],
            "rating": rng.integers(1, 6, n),
            "date": pd.Timestamp("2019-03-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        }
    )


def csv_bytes(frame: pd.DataFrame, **kwargs) -> bytes:
    return frame.to_csv(index=False, header=False, **kwargs).encode()


def test_the_issue_example_gets_a_proposal_with_reasons_that_reads():
    frame = issue_example()
    data = csv_bytes(frame)
    report = ac.inspect_ratings(data)
    proposal = report.proposal
    assert proposal.columns == {"user": 0, "item": 1, "rating": 4, "timestamp": 5}
    assert proposal.names == {
        "user": "column 1", "item": "column 2", "rating": "column 5", "timestamp": "column 6"
    }  # fmt: skip
    assert proposal.complete
    assert proposal.reasons["rating"].startswith("5 distinct numbers from 1 to 5")
    assert proposal.reasons["timestamp"].startswith("its values are dates (2019-")
    assert "repeat" in proposal.reasons["user"] and "repeat" in proposal.reasons["item"]
    assert "every value is different" in proposal.others["column 4"]
    # Reading it as proposed gives what pandas gives with the mapping written by hand.
    ratings = ac.read_ratings(data, columns=proposal.columns)
    truth = frame.groupby(["user", "movie"])["rating"].mean().to_dict()
    rows, cols, vals = ratings.coo()
    got = {
        (ratings.user_ids[u], ratings.item_ids[i]): v
        for u, i, v in zip(rows, cols, vals, strict=True)
    }
    assert got == pytest.approx(truth)
    seconds = (frame["date"] - pd.Timestamp("1970-01-01")).dt.total_seconds()
    assert ratings.timestamps.min() == seconds.min()


def test_reading_without_a_mapping_raises_with_the_same_proposal_and_no_python():
    data = csv_bytes(issue_example())
    with pytest.raises(ac.ColumnMappingError) as caught:
        ac.read_ratings(data)
    assert caught.value.proposal == ac.inspect_ratings(data).proposal
    message = str(caught.value)
    assert "user = column 1, item = column 2, rating = column 5, timestamp = column 6" in message
    assert "columns=" not in message and "{" not in message


def test_unix_times_ids_in_runs_and_row_numbers_are_told_apart():
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame(
        {
            "row": np.arange(1, n + 1),  # counts up by one: a row number
            "time_ms": rng.integers(1_300_000_000_000, 1_600_000_000_000, n),
            "stars": rng.integers(1, 11, n) / 2,
            "user": np.repeat(np.arange(1, 5), n // 4),  # sorted: ids in runs, few values
            "item": rng.integers(1, 50, n),
        }
    )
    proposal = ac.inspect_ratings(csv_bytes(frame)).proposal
    assert proposal.columns == {"user": 3, "item": 4, "rating": 2, "timestamp": 1}
    assert "Unix times in milliseconds (2011" in proposal.reasons["timestamp"]
    assert "row number" in proposal.others["column 1"]


def test_a_missing_rating_name_is_proposed_from_the_values():
    data = b"user,item,comment,points_x\n" + b"".join(
        f"{u},{i},ok,{(u * 7 + i) % 5 + 1}\n".encode() for u in range(1, 9) for i in range(1, 4)
    )
    with pytest.raises(ac.ColumnMappingError) as caught:
        ac.read_ratings(data)
    proposal = caught.value.proposal
    assert proposal.columns == {"user": 0, "item": 1, "rating": 3, "timestamp": None}
    assert proposal.reasons["user"] == "chosen by its name"
    assert ac.read_ratings(data, columns=proposal.columns).nnz == 24


def test_a_mapping_found_by_name_is_the_proposal_with_its_reasons():
    data = b"userId,movieId,rating\n1,10,4\n2,10,3\n1,11,5\n"
    _, report = ac.read_ratings_report(data)
    assert report.proposal.columns == {"user": 0, "item": 1, "rating": 2, "timestamp": None}
    assert report.proposal.reasons["item"] == "its header 'movieId' names it"


def test_positions_the_values_contradict_are_flagged():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"rating": rng.integers(1, 6, 60), "user": rng.integers(100, 130, 60),
         "item": rng.integers(500, 590, 60)}
    )  # fmt: skip
    _, report = ac.read_ratings_report(csv_bytes(frame), duplicates="last")
    assert report.column_positions["user"] == 0  # read by position, as before
    assert report.proposal.columns["rating"] == 0
    assert any("The values suggest another mapping" in w for w in report.warnings)


def test_cli_gives_the_flags_for_the_proposal(tmp_path, capsys):
    path = tmp_path / "six.csv"
    path.write_bytes(csv_bytes(issue_example()))
    assert main(["fit", str(path), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.endswith("(to read it that way: --user-col 0 --item-col 1 --rating-col 4)")
    given = ["--user-col", "0", "--item-col", "1", "--rating-col", "4"]
    out = str(tmp_path / "m")
    assert main(["fit", str(path), *given, "--k", "2", "--iterations", "1", "--out", out]) == 0
