"""Item and user names from a second file: the four public formats, matching, attaching, saving.

The files under tests/data/names are short excerpts written for these tests in the formats of
MovieLens latest (movies.csv), MovieLens 100K (u.item, u.data), goodbooks-10k (books.csv) and
Book-Crossing (BX-Books.csv, BX-Book-Ratings.csv), with their quirks: quoted titles with commas,
Latin-1, pipes and 19 genre flags without a header, many columns, ';' with every field quoted,
ISBNs with leading zeros and an X, an HTML entity, a line cut short, ids that only one of the
two files has. The expected titles are the ones written into the excerpts.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core.cli import main
from als_core.embed import item_labels
from tests.shared_data import movielens_small, needs_movielens_small

DATA = Path(__file__).parent / "data" / "names"


def titles(names: ac.Names) -> dict:
    return names.table["title"].to_dict()


def test_movielens_movies_csv():
    ratings = ac.read_ratings(DATA / "ratings.csv")
    names = ac.read_item_names(DATA / "movies.csv", item_ids=ratings.item_ids)
    assert titles(names) == {
        1: "Toy Story (1995)",
        11: "American President, The (1995)",
        29: "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
        32: "Twelve Monkeys (a.k.a. 12 Monkeys) (1995)",
        114335: "La cravate (1957)",
    }
    assert names.table.loc[29, "genres"] == "Adventure|Drama|Fantasy|Mystery|Sci-Fi"
    assert names.table.loc[11, "genre"] == "Comedy"
    assert names.table.loc[114335, "genres"] == ""  # "(no genres listed)"
    assert pd.isna(names.table.loc[114335, "genre"])
    report = names.report
    assert (report.id_column, report.title_column, report.category_column) == (
        "movieId", "title", "'genres'"
    )  # fmt: skip
    assert (report.matched, report.unnamed, report.unmatched) == (5, 1, 2)  # 99999; 2, 193609
    assert report.unmatched_examples == ["2", "193609"]
    assert "5 of 6 rated items got a name; 1 keep their id." in report.summary()


def test_movielens_100k_u_item_latin1_pipes_and_genre_flags():
    ratings = ac.read_ratings(DATA / "u.data")
    names = ac.read_item_names(DATA / "u.item", item_ids=ratings.item_ids)
    assert titles(names) == {
        1: "Toy Story (1995)",
        2: "GoldenEye (1995)",
        267: "unknown",
        1301: "Misérables, Les (1995)",
    }
    assert names.table.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert names.table.loc[2, "genres"] == "Action|Adventure|Thriller"
    assert names.table.loc[1301, "genre"] == "Drama"
    report = names.report
    assert not report.header and report.encoding.startswith("Windows-1252")
    assert (report.id_column, report.title_column) == ("column 1", "column 2")
    assert report.category_column == "19 flag columns (column 6 to column 24)"
    assert (report.matched, report.unnamed, report.unmatched) == (4, 2, 1)  # 242, 302; 1682


def test_movielens_100k_names_agree_with_the_100k_loader_parser():
    from als_core.movielens import ML100K_GENRES, _item_info

    expected = _item_info((DATA / "u.item").read_bytes(), ML100K_GENRES)
    names = ac.read_item_names(DATA / "u.item")
    assert names.table["title"].to_dict() == expected["title"].to_dict()
    real = expected["genres"].str.replace(r"(^|\|)unknown", "", regex=True)
    assert names.table["genres"].to_dict() == real.to_dict()


def test_goodbooks_books_csv_many_columns():
    ratings = ac.read_ratings(DATA / "goodbooks_ratings.csv")
    names = ac.read_item_names(DATA / "books.csv", item_ids=ratings.item_ids)
    assert titles(names) == {
        1: "The Hunger Games (The Hunger Games, #1)",
        2: "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)",
        4: "To Kill a Mockingbird",
        9: "Angels & Demons  (Robert Langdon, #1)",
    }
    report = names.report
    # book_id, not goodreads_book_id (whose 3 also is a rated id); title, not original_title
    assert (report.id_column, report.title_column, report.category_column) == (
        "book_id", "title", None
    )  # fmt: skip
    assert list(names.table.columns) == ["title"]
    assert (report.matched, report.unnamed, report.unmatched) == (4, 1, 2)  # 10; 3, 6


def test_book_crossing_isbns_semicolons_latin1_and_a_broken_line():
    ratings = ac.read_ratings(DATA / "BX-Book-Ratings.csv")
    assert ratings.item_ids.dtype == object  # ISBNs stay text: "0195153448", "034545104X"
    names = ac.read_item_names(DATA / "BX-Books.csv", item_ids=ratings.item_ids)
    assert titles(names) == {
        "0195153448": "Classical Mythology",
        "0002005018": "Clara Callan",
        "034545104X": "Flesh Tones: A Novel",
        "2070423204": "Bonjour tristesse : roman (édition de poche)",
        "0684823802": "Out of Africa ; and, Shadows on the Grass",
        "0553213105": "Pride & Prejudice",
    }
    report = names.report
    assert (report.id_column, report.title_column) == ("ISBN", "Book-Title")
    assert report.rows_skipped == 1 and report.skipped_examples == ["line 6 has 4 field(s)"]
    assert (report.matched, report.unnamed, report.unmatched) == (6, 1, 0)  # 052165615X


def test_attached_names_label_items_and_unnamed_ones_keep_their_id():
    ratings = ac.read_ratings(DATA / "ratings.csv")
    named = ratings.with_item_names(ac.read_item_names(DATA / "movies.csv"))
    info = named.item_info
    assert list(info["id"]) == list(ratings.item_ids)
    position = list(ratings.item_ids).index(99999)
    assert math.isnan(info["title"][position])
    labels = item_labels(named)
    assert labels[position] == "item 99999"  # no title: its id, said as an id
    assert labels[list(ratings.item_ids).index(1)] == "Toy Story (1995)"
    assert named.matrix is ratings.matrix and named.fingerprint() == ratings.fingerprint()


def test_names_replace_titles_and_keep_the_other_info_columns():
    sample = ac.load_sample("movie_night")
    first = sample.item_ids[0]
    table = pd.DataFrame({"title": ["Renamed"]}, index=pd.Index([str(first)]))
    renamed = sample.with_item_names(table)
    assert renamed.item_info["title"].iloc[0] == "Renamed"
    assert renamed.item_info["year"].tolist() == sample.item_info["year"].tolist()
    assert renamed.item_info["title"].iloc[1:].isna().all()


def test_without_the_ratings_ids_the_id_column_is_found_by_name():
    names = ac.read_item_names(DATA / "books.csv")
    assert names.report.id_column == "book_id" and names.report.matched is None
    assert names.table.index.dtype == np.int64 and len(names.table) == 6


def test_columns_can_be_chosen_and_repeated_ids_keep_the_first():
    data = b"code;label;other\nA;First A;x\nB;Bee;y\nA;Second A;z\n"
    names = ac.read_item_names(data, id_column="code", title_column=2)
    assert names.table["title"].to_dict() == {"A": "x", "B": "y"}
    assert names.report.repeated_ids == 1
    with pytest.raises(ac.RatingsError, match="the title column 'nope' is not in the names file"):
        ac.read_item_names(data, title_column="nope")


def test_a_file_with_nothing_like_titles_or_one_column_is_refused():
    with pytest.raises(ac.RatingsError, match="no column of the names file looks like titles"):
        ac.read_item_names(b"id,count\n1,5\n2,7\n3,9\n")
    with pytest.raises(ac.RatingsError, match="separate the id and the title with a comma"):
        ac.read_item_names(b"title\nToy\nHeat\nUp\n")


def test_a_title_column_picked_from_the_values_is_flagged_for_a_check():
    data = b"code,description,maker\n1,Big red apple,Acme Foods\n2,Small pear,Acme Foods\n"
    guessed = ac.read_item_names(data)
    report = guessed.report
    assert report.title_column == "description" and not report.title_certain
    assert report.columns == ["code", "description", "maker"]
    assert report.positions == {"id": 0, "title": 1}
    # The user disagrees: the same file read with the chosen columns.
    chosen = ac.read_item_names(data, id_column=0, title_column="maker", category_column=False)
    assert chosen.table["title"].to_dict() == {1: "Acme Foods", 2: "Acme Foods"}
    assert chosen.report.title_certain and chosen.report.reasons["title"] == "as chosen"
    assert ac.read_item_names(DATA / "movies.csv").report.title_certain  # named 'title'


def test_categories_can_be_chosen_or_turned_off():
    data = b"id,title,genres,shelf\n1,Toy,Animation|Comedy,kids\n2,Heat,Action,crime\n"
    assert ac.read_item_names(data).table["genre"].tolist() == ["Animation", "Action"]
    shelf = ac.read_item_names(data, category_column="shelf").table
    assert shelf["genres"].tolist() == ["kids", "crime"]
    plain = ac.read_item_names(data, category_column=False)
    assert list(plain.table.columns) == ["title"] and plain.report.category_column is None


def test_no_title_column_lists_the_columns_to_choose_from():
    with pytest.raises(ac.NamesColumnError) as refused:
        ac.read_item_names(b"sku,stock\n10,5\n11,7\n12,9\n")
    assert refused.value.report.columns == ["sku", "stock"]
    assert refused.value.report.id_column == "sku"
    assert isinstance(refused.value, ac.RatingsError)  # callers catching that still do
    forced = ac.read_item_names(b"sku,stock\n10,5\n11,7\n12,9\n", title_column="stock")
    assert forced.table["title"].to_dict() == {10: "5", 11: "7", 12: "9"}


def test_a_names_file_that_matches_nothing_says_so():
    ratings = ac.read_ratings(DATA / "BX-Book-Ratings.csv")
    names = ac.read_item_names(DATA / "movies.csv", item_ids=ratings.item_ids)
    assert names.report.matched == 0 and len(names.table) == 0
    assert any("No column of the names file holds the ratings' item ids" in w
               for w in names.report.warnings)  # fmt: skip


def test_user_names():
    ratings = ac.read_ratings(b"user,item,rating\n7,1,4\n7,2,5\n9,1,3\n9,2,2\n11,2,1\n")
    people = ac.read_user_names(b"name,id\nAda,7\nGrace,9\nAlan,12\n", user_ids=ratings.user_ids)
    assert people.report.id_column == "id" and people.report.unmatched == 1
    info = ratings.with_user_names(people).user_info
    assert info["name"].tolist()[:2] == ["Ada", "Grace"] and pd.isna(info["name"].iloc[2])


def test_saved_models_keep_the_names(tmp_path):
    ratings = ac.read_ratings(DATA / "ratings.csv").with_item_names(
        ac.read_item_names(DATA / "movies.csv")
    )
    model = ac.ALS(k=2, iterations=2).fit(ratings)
    ac.save_model(model, ratings, tmp_path / "m")
    loaded = ac.load_model(tmp_path / "m")
    info = loaded.train_ratings_.item_info
    assert info["title"].tolist()[:2] == ["Toy Story (1995)", "American President, The (1995)"]
    assert info["genres"].tolist()[:2] == [
        "Adventure|Animation|Children|Comedy|Fantasy",
        "Comedy|Drama|Romance",
    ]


def test_cli_fit_with_items_keeps_the_names_and_recommend_shows_them(tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["fit", str(DATA / "ratings.csv"), "--items", str(DATA / "movies.csv"), "--k", "2",
            "--iterations", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "names: 5 of 6 items named from movies.csv (titles from 'title', categories from "
        "'genres'); 2 name(s) match no rated item"
    ) in err
    model = ac.load_model(out)
    assert model.settings_["run"]["items"].endswith("movies.csv")
    titles_kept = model.train_ratings_.item_info.set_index("id")["title"]
    assert titles_kept[29] == "City of Lost Children, The (Cité des enfants perdus, La) (1995)"
    assert main(["recommend", str(out), "--user", "3", "--n", "4", "--format", "csv"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(table.columns) == ["rank", "item_id", "score", "title"]
    assert set(table["title"].dropna()) <= set(titles_kept.dropna())


def test_cli_items_errors_are_one_line_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "model"
    missing = ["fit", str(DATA / "ratings.csv"), "--items", str(tmp_path / "no.csv"), "--out",
               str(out)]  # fmt: skip
    assert main(missing) == 1
    assert "no item names file at" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("title\nToy\nHeat\nUp\n")
    argv = ["fit", str(DATA / "ratings.csv"), "--items", str(bad), "--k", "2", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert [ln for ln in err.splitlines() if "error" in ln] == [err.splitlines()[-1]]
    assert "cannot read item names from" in err.splitlines()[-1]
    assert not out.exists()


@needs_movielens_small("ratings.csv", "movies.csv")
def test_real_movielens_latest_small_names():
    folder = movielens_small("ratings.csv", "movies.csv")
    ratings = ac.read_ratings(folder / "ratings.csv")
    names = ac.read_item_names(folder / "movies.csv", item_ids=ratings.item_ids)
    frame = pd.read_csv(folder / "movies.csv").set_index("movieId")
    rated = set(ratings.item_ids.tolist())
    assert names.report.matched == len(rated & set(frame.index)) == ratings.n_items
    assert names.report.unmatched == len(set(frame.index) - rated)
    titles_as_written = frame.loc[list(names.table.index), "title"].str.strip()  # (some end in " ")
    assert names.table["title"].to_dict() == titles_as_written.to_dict()
