"""The allowed values of settings that the library and the command line share.

No imports on purpose: ``python -m als_core --help`` lists them without loading numpy or pandas.
"""

#: How λ scales with a row's ratings: the article's plain λ, or λ times their count (ALS-WR).
REGULARIZATIONS = ("plain", "weighted")
#: What to do with a (user, item) pair rated more than once.
DUPLICATE_POLICIES = ("error", "last", "first", "mean")
#: What ``read_ratings`` and ``Ratings.from_frame`` do with a pair rated more than once.
DEFAULT_DUPLICATES = "mean"
