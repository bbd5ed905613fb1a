"""als_core: exact, vectorised alternating least squares for explicit ratings.

numpy, scipy, pandas and pyarrow (threadpoolctl when present); nothing here knows about the
dashboard.

Every name below is imported on first use (PEP 562), so ``import als_core`` costs almost
nothing and ``python -m als_core --help`` answers at once; ``ac.ALS`` loads the estimator with
numpy, scipy and pandas, and the heavy optional parts (experiments, exports, the Spark engine,
the file readers with pyarrow) load only when a program touches them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

#: Each submodule's public names, as ``ac.<name>``.
_PUBLIC = {
    "_propose": ("MappingProposal",),
    "als": ("ALS", "FitEvent", "ObjectiveTerms", "Snapshot", "als_half_step", "objective"),
    "baselines": ("BiasOnly", "GlobalMean", "Popularity", "ZeroFilledSVD"),
    "diagnostics": (
        "GradientNorms",
        "GramSpectrum",
        "RowObjectives",
        "baseline_scores",
        "gram_spectrum",
        "half_step_flops",
        "objective_gradient",
        "reparametrize",
        "row_objectives",
    ),
    "embed": (
        "Projection",
        "ReconstructionGrid",
        "align_projection",
        "explain_recommendations",
        "nearest_neighbours",
        "reconstruction_grid",
        "shared_projection",
    ),
    "errors": (
        "ColumnMappingError",
        "DuplicateRatingsError",
        "InvalidRowsError",
        "NamesColumnError",
        "NonFiniteFactorsError",
        "NotFittedError",
        "RatingsError",
    ),
    "export": (
        "RunFileError",
        "RunRecord",
        "factors_frame",
        "predictions_frame",
        "run_from_json",
        "run_to_json",
        "to_csv_bytes",
        "to_parquet_bytes",
        "top_n_frame",
    ),
    "gradient": ("SGD", "GradientDescent"),
    "implicit": (
        "ImplicitALS",
        "implicit_half_step",
        "ranking_metrics_from_factors",
        "threshold_interactions",
    ),
    "io": ("MAX_UPLOAD_MB", "ReadReport", "inspect_ratings", "read_ratings", "read_ratings_report"),
    "metrics": (
        "evaluate",
        "mae",
        "ndcg_at_n",
        "precision_at_n",
        "ranking_metrics",
        "recall_at_n",
        "rmse",
    ),
    "model_io": ("ModelDirError", "load_model", "save_model"),
    "movielens": ("load_movielens_100k",),
    "names": ("Names", "NamesReport", "read_item_names", "read_user_names"),
    "ratings": ("MAX_ABS_RATING", "DuplicateNote", "Ratings"),
    "samples": ("SAMPLES", "load_sample"),
    "split": ("Split", "split"),
    "synthetic": ("MAX_SYNTHETIC_RATINGS", "SyntheticData", "synthetic"),
    "tune": ("TuneEvent", "TuneResult", "tune"),
}
#: Public name -> (submodule, name in it).
_EXPORTS: dict[str, tuple[str, str]] = {
    "solver_engine": ("_kernel", "describe"),
    "prepare_engine": ("_kernel", "prepare"),
    **{name: (module, name) for module, names in _PUBLIC.items() for name in names},
}

#: Public names that are also submodules' names: the package attribute is the function.
_SHADOWED = frozenset(name for name, (module, _) in _EXPORTS.items() if name == module)

__all__ = sorted([*_EXPORTS, "experiments"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)  # e.g. ac.experiments, ac.embed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps ``als_core.split``, ``als_core.synthetic`` and ``als_core.tune`` the functions.

    Importing a submodule binds its name on the package, and these functions share their
    module's name: whoever imports the module first (``from .synthetic import ...`` in another
    module) must not turn ``ac.synthetic(...)`` into a module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
