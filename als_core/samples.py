"""The bundled sample data sets: how they are made (fixed seeds) and how to load them.

``scripts/make_samples.py`` writes the files in ``data/`` with the functions here, so the files
and the code cannot drift apart (a test regenerates them and compares). ``load_sample`` reads the
files, and falls back to generating the same data in memory if the files are not there (e.g. the
library was copied without ``data/``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RatingsError
from .ratings import Ratings
from .synthetic import sample_pairs

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

SAMPLES: dict[str, str] = {
    "movie_night": (
        "Movie night: 300 viewers × 120 invented films in 6 genres, half-star ratings, 8% "
        "observed; viewers have planted genre tastes, so ALS separates the genres"
    ),
    "tiny": (
        "Tiny: 5 people × 6 films in wide form with blanks, small enough to follow one ALS "
        "update by hand"
    ),
}

MOVIE_NIGHT_SEED = 20240607
MOVIE_NIGHT_FILES = ("movie_night_ratings.csv", "movie_night_items.csv")
TINY_FILE = "tiny_wide.csv"

# Invented titles (any likeness to real films is accidental); 20 per genre.
GENRE_TITLES: dict[str, tuple[str, ...]] = {
    "Action": (
        "Steel Horizon",
        "Midnight Extraction",
        "The Last Convoy",
        "Iron Harbor",
        "Crossfire Protocol",
        "Redline Run",
        "Shadow Battalion",
        "Fault Line Zero",
        "Black Ice Heist",
        "Zero Hour Drop",
        "The Vault Job",
        "Thunder Pass",
        "Rogue Signal",
        "Rooftop Pursuit",
        "Outpost Seven",
        "Blade of the Fallen",
        "Dead Man's Bridge",
        "Voltage Run",
        "Cobalt Fury",
        "The Ninth Convoy",
    ),
    "Comedy": (
        "My Neighbor's Llama",
        "The Planner's Planner",
        "Office Plants",
        "Uncle Bernard Goes West",
        "Totally Fine",
        "Three Dads and a Canoe",
        "The Great Sandwich Caper",
        "Accidentally Famous",
        "Parking Spot Wars",
        "Grandma's Gap Year",
        "The Intern's Intern",
        "Bad Karaoke Night",
        "Fake Mustache",
        "Camp Wonky",
        "The Spreadsheet Affair",
        "Honk If You're Lost",
        "Soup of the Day",
        "Dinner with the Duponts",
        "Two Left Feet",
        "The Substitute Chef",
    ),
    "Drama": (
        "The Quiet Orchard",
        "Letters to Marseille",
        "What the River Kept",
        "A Winter in Lisbon",
        "The Glassmaker's Son",
        "Harbor Lights",
        "Between the Tides",
        "The Long Field",
        "Small Hours",
        "Northbound",
        "The Weight of Salt",
        "Every Other Sunday",
        "Paper Houses",
        "The Cellist",
        "Saltwater Road",
        "A Borrowed Year",
        "The Night Nurse",
        "Under the Linden Tree",
        "Coal Town",
        "The Inheritance of Rain",
    ),
    "Horror": (
        "The Hollow Pines",
        "Don't Open the Cellar",
        "Whisper Lake",
        "The Tenth Guest",
        "Static",
        "Greyhallow Asylum",
        "Night Tide",
        "The Doll Collector",
        "Below the Floorboards",
        "The Vanishing Choir",
        "Crawlspace",
        "Bone Orchard",
        "They Knock at Three",
        "The Pale Lantern",
        "Mirror, Mirror, Mine",
        "Fog Hollow",
        "The Unlit House",
        "Skin of the Marsh",
        "Hush, Little Ones",
        "The Ninth Bell",
    ),
    "Romance": (
        "Summer in Positano",
        "The Bookshop on Elm Street",
        "Second Chance Café",
        "Love, Postmarked",
        "Under Paris Rain",
        "The Wedding Date Swap",
        "Starlight Ferry",
        "Ten Letters Late",
        "Autumn at the Vineyard",
        "A Dance in June",
        "The Lighthouse Keeper's Daughter",
        "Meet Me at the Station",
        "Sweet Tangerine",
        "Across the Hall",
        "Holiday in Hallstatt",
        "Forget Me in Venice",
        "The Promise Ring",
        "Snowed In Together",
        "Blue Hour",
        "Always the Bridesmaid",
    ),
    "Sci-Fi": (
        "Orbit of Ash",
        "The Europa Signal",
        "Neon Genome",
        "Parallax",
        "The Last Colony Ship",
        "Quantum Drift",
        "Red Dust Protocol",
        "Synthetic Dawn",
        "The Memory Market",
        "Horizon Café",
        "Titan Rising",
        "Low Earth",
        "The Clockwork Planet",
        "Machine Sabbath",
        "Ion Storm",
        "The Andromeda Ledger",
        "Singularity Blues",
        "Cold Fusion Summer",
        "Exodus 2299",
        "Starfall Archive",
    ),
}

GENRE_ANGLES = {
    "Action": 0,
    "Sci-Fi": 60,
    "Horror": 120,
    "Drama": 180,
    "Romance": 240,
    "Comedy": 300,
}

# The tiny set: two tastes (action/sci-fi vs romance/drama) visible by eye; blanks are missing.
_TINY_FILMS = (
    "Steel Horizon",
    "Orbit of Ash",
    "Redline Run",
    "Summer in Positano",
    "Second Chance Café",
    "Letters to Marseille",
)
_TINY_ROWS = {
    "Ana": (5, 4, None, 1, None, 2),
    "Ben": (4, None, 5, None, 1, None),
    "Cleo": (None, 1, 2, 5, 4, None),
    "Dev": (1, None, None, 4, 5, 5),
    "Eli": (None, 5, 4, None, 2, 1),
}


# --------------------------------------------------------------------------------- making
def make_movie_night(
    *,
    n_users: int = 300,
    density: float = 0.08,
    seed: int = MOVIE_NIGHT_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, items) frames of the movie-night set.

    Model: rating = 3.2 + generosity_u + quality_i + strength_u·cos(θ_u − φ_i) + quirk_u[genre_i]
    + noise (σ 0.45), clipped to 1..5 and rounded to half stars. The genres sit on a circle of
    tastes (φ: Action 0°, Sci-Fi 60°, Horror 120°, Drama 180°, Romance 240°, Comedy 300°; each
    film jittered by N(0, 10°)), each viewer has a favourite direction θ_u (uniform) held with
    strength ~ U(1.2, 2.0), plus a small per-genre quirk N(0, 0.25²); generosity ~ N(0, 0.3²),
    quality ~ N(0, 0.35²). So two latent dimensions carry the genres, and a 2-D latent map shows
    them as sectors of a circle, neighbours on the circle being related genres. Which films a
    viewer rated is drawn without replacement, with film popularity ∝ rank^-0.8 and viewer
    activity ∝ rank^-0.4 (see ``synthetic.sample_pairs``).
    """
    rng = np.random.default_rng(seed)
    genres = list(GENRE_TITLES)
    titles = [(t, g) for g in genres for t in GENRE_TITLES[g]]
    order = rng.permutation(len(titles))  # ids do not give the genre away
    items = pd.DataFrame(
        {
            "item": np.arange(1, len(titles) + 1),
            "title": [titles[j][0] for j in order],
            "genre": [titles[j][1] for j in order],
            "year": rng.integers(1972, 2025, size=len(titles)),
        }
    )
    n_items, n_genres = len(items), len(genres)
    genre_idx = pd.Categorical(items["genre"], categories=genres).codes
    angle = np.deg2rad(np.array([GENRE_ANGLES[g] for g in items["genre"]]))
    angle += np.deg2rad(10.0) * rng.standard_normal(n_items)

    direction = rng.uniform(0.0, 2 * np.pi, size=n_users)
    strength = rng.uniform(1.2, 2.0, size=n_users)
    quirk = rng.normal(0.0, 0.25, size=(n_users, n_genres))
    generosity = rng.normal(0.0, 0.3, size=n_users)
    quality = rng.normal(0.0, 0.35, size=n_items)

    item_weights = _shuffled_power_law(rng, n_items, 0.8)
    user_weights = _shuffled_power_law(rng, n_users, 0.4)
    rows, cols = sample_pairs(rng, user_weights, item_weights, round(density * n_users * n_items))
    value = (
        3.2
        + generosity[rows]
        + quality[cols]
        + strength[rows] * np.cos(direction[rows] - angle[cols])
        + quirk[rows, genre_idx[cols]]
        + rng.normal(0.0, 0.45, size=rows.size)
    )
    value = np.clip(np.round(value * 2) / 2, 1.0, 5.0)
    ratings = pd.DataFrame({"user": rows + 1, "item": cols + 1, "rating": value})
    return ratings, items


def make_tiny() -> pd.DataFrame:
    """The tiny set as a wide frame: column ``user`` then one column per film, NaN = missing."""
    frame = pd.DataFrame.from_dict(_TINY_ROWS, orient="index", columns=list(_TINY_FILMS))
    frame = frame.astype("float64")
    frame.index.name = "user"
    return frame.reset_index()


def _shuffled_power_law(rng: np.random.Generator, n: int, skew: float) -> np.ndarray:
    weights = rng.permutation(np.arange(1, n + 1, dtype=np.float64) ** -skew)
    return weights / weights.sum()


# --------------------------------------------------------------------------------- loading
def load_sample(name: str, *, data_dir: str | Path | None = None) -> Ratings:
    """One of the bundled samples (names and descriptions in ``SAMPLES``) as Ratings.

    ``movie_night`` carries ``item_info`` with columns item, title, genre, year; ``tiny`` has the
    people's names as user ids and the film titles as item ids.
    """
    if name not in SAMPLES:
        raise RatingsError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}")
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    if name == "movie_night":
        return _load_movie_night(folder)
    return _load_tiny(folder)


def _load_movie_night(folder: Path) -> Ratings:
    ratings_path, items_path = (folder / f for f in MOVIE_NIGHT_FILES)
    if ratings_path.exists() and items_path.exists():
        ratings = pd.read_csv(ratings_path)
        items = pd.read_csv(items_path)
    else:
        ratings, items = make_movie_night()
    r = Ratings.from_frame(
        ratings, user="user", item="item", rating="rating", item_info=items.set_index("item")
    )
    return replace(r, notes=(*r.notes, "sample: movie night (invented films, planted tastes)"))


def _load_tiny(folder: Path) -> Ratings:
    from .io import read_ratings  # the sample goes through the same reader as an upload

    path = folder / TINY_FILE
    source = path if path.exists() else make_tiny().to_csv(index=False).encode()
    r = read_ratings(source, wide=True)
    return replace(r, notes=("sample: tiny (wide form, blanks are missing)",))


# --------------------------------------------------------------------------------- writing
def write_samples(folder: str | Path) -> list[Path]:
    """Write every sample file into ``folder`` (UTF-8, LF line ends); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings, items = make_movie_night()
    paths = [folder / MOVIE_NIGHT_FILES[0], folder / MOVIE_NIGHT_FILES[1], folder / TINY_FILE]
    ratings.to_csv(paths[0], index=False, lineterminator="\n")
    items.to_csv(paths[1], index=False, lineterminator="\n")
    tiny = make_tiny()
    # Whole stars without a trailing ".0", blanks for missing, as a person would type it.
    tiny.to_csv(paths[2], index=False, lineterminator="\n", float_format="%g")
    return paths
