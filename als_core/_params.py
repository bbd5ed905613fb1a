"""The estimators' settings, read from their constructors (as scikit-learn's ``BaseEstimator``).

Every estimator's ``__init__`` takes keyword-only settings and stores each, unchanged, under its
own name; ``get_params`` lists them in the signature's order, so a setting is named once, in the
constructor, and cannot be left out of ``get_params`` or ``repr``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


class ParamsMixin:
    """``get_params()`` and a ``repr`` listing it, from the keyword-only parameters of
    ``__init__``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        """The keyword-only parameters of ``__init__``, in the signature's order."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The settings, as passed to ``__init__``; ``dtype`` by its name (``"float64"``),
        which the constructors accept too."""
        params = {name: getattr(self, name) for name in self._param_names()}
        if "dtype" in params:
            params["dtype"] = np.dtype(params["dtype"]).name
        return params

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({inner})"
