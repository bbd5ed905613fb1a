"""The public names of the library are importable (the contract in DESIGN.md)."""

import als_core as ac


def test_public_names_exist():
    for name in ("ALS", "Ratings", "RatingsError", "split", "als_half_step", "objective"):
        assert hasattr(ac, name), name
