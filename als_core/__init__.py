"""als_core: exact, vectorised alternating least squares for explicit ratings.

numpy, scipy, pandas and pyarrow (threadpoolctl when present); nothing here knows about the
dashboard.
"""

from . import experiments
from ._kernel import describe as solver_engine
from ._kernel import prepare as prepare_engine
from ._propose import MappingProposal
from .als import ALS, FitEvent, ObjectiveTerms, Snapshot, als_half_step, objective
from .baselines import BiasOnly, GlobalMean, Popularity, ZeroFilledSVD
from .embed import (
    Projection,
    ReconstructionGrid,
    align_projection,
    explain_recommendations,
    nearest_neighbours,
    reconstruction_grid,
    shared_projection,
)
from .errors import (
    ColumnMappingError,
    DuplicateRatingsError,
    NonFiniteFactorsError,
    NotFittedError,
    RatingsError,
)
from .export import (
    RunFileError,
    RunRecord,
    factors_frame,
    predictions_frame,
    run_from_json,
    run_to_json,
    to_csv_bytes,
    to_parquet_bytes,
    top_n_frame,
)
from .gradient import SGD, GradientDescent
from .implicit import ImplicitALS, implicit_half_step, ranking_metrics_from_factors
from .io import (
    MAX_UPLOAD_MB,
    ReadReport,
    inspect_ratings,
    read_ratings,
    read_ratings_report,
)
from .metrics import evaluate, mae, ndcg_at_n, precision_at_n, ranking_metrics, recall_at_n, rmse
from .model_io import ModelDirError, load_model, save_model
from .movielens import load_movielens_100k
from .ratings import MAX_ABS_RATING, DuplicateNote, Ratings
from .samples import SAMPLES, load_sample
from .split import Split, split
from .synthetic import MAX_SYNTHETIC_RATINGS, SyntheticData, synthetic
from .tune import TuneEvent, TuneResult, tune

__all__ = [
    "solver_engine",
    "prepare_engine",
    "RunFileError",
    "RunRecord",
    "factors_frame",
    "predictions_frame",
    "run_from_json",
    "run_to_json",
    "to_csv_bytes",
    "to_parquet_bytes",
    "top_n_frame",
    "MAX_ABS_RATING",
    "MAX_SYNTHETIC_RATINGS",
    "MAX_UPLOAD_MB",
    "ALS",
    "MappingProposal",
    "ModelDirError",
    "load_model",
    "save_model",
    "BiasOnly",
    "FitEvent",
    "GlobalMean",
    "GradientDescent",
    "ImplicitALS",
    "ColumnMappingError",
    "DuplicateNote",
    "DuplicateRatingsError",
    "NonFiniteFactorsError",
    "NotFittedError",
    "Projection",
    "ReconstructionGrid",
    "ObjectiveTerms",
    "Popularity",
    "Ratings",
    "ReadReport",
    "RatingsError",
    "SAMPLES",
    "SGD",
    "Snapshot",
    "Split",
    "SyntheticData",
    "ZeroFilledSVD",
    "align_projection",
    "als_half_step",
    "evaluate",
    "experiments",
    "explain_recommendations",
    "inspect_ratings",
    "implicit_half_step",
    "load_movielens_100k",
    "load_sample",
    "mae",
    "ndcg_at_n",
    "nearest_neighbours",
    "objective",
    "precision_at_n",
    "ranking_metrics",
    "ranking_metrics_from_factors",
    "read_ratings",
    "read_ratings_report",
    "recall_at_n",
    "reconstruction_grid",
    "rmse",
    "shared_projection",
    "split",
    "synthetic",
    "tune",
    "TuneEvent",
    "TuneResult",
]
