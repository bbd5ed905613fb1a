"""The words and formulas the app teaches, built from the model's settings in one place.

Every page, legend and axis that names the prediction rule, the objective, an update or a ridge
takes its text from here, so what the app says follows what the model computes: biases on or
off, plain or weighted regularisation (with its damping n₀), and predictions clipped to the
rating scale or not. No Streamlit here: plain strings (Unicode for labels, LaTeX for
``st.latex``), tested against the settings.

    form = formulas.Form.of_model(fit.model)
    st.latex(formulas.update_latex(form, "users"))
    fig.update_xaxes(title=formulas.HALF_STEP_AXIS)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: x position and label of a half-step (the Train and Replay charts share them).
HALF_STEP_AXIS = "iteration (users of t solved at t − ½, items at t)"
#: The per-iteration charts (RMSE): one point per iteration, after its items were solved.
ITERATION_AXIS = "iteration (after its items are solved)"
SIDES = ("users", "items")


@dataclass(frozen=True)
class Form:
    """What decides the text: the model's settings.

    ``scale`` is the (lowest, highest) training rating that predictions are clipped to, or None
    when the numbers shown are unclipped.
    """

    biases: bool = False
    regularization: str = "plain"
    lam: float = 1.0
    damping: float = 0.0
    scale: tuple[float, float] | None = None

    @classmethod
    def of_model(cls, model: Any, *, clipped: bool = True) -> Form:
        """The form of a fitted ``ac.ALS`` (``clipped``: its predictions as ``predict`` gives
        them, clipped to the training scale)."""
        scale = getattr(model, "rating_scale_", None) if clipped else None
        if scale is not None and not np.all(np.isfinite(scale)):
            scale = None
        return cls(
            biases=bool(getattr(model, "biases", False)),
            regularization=str(getattr(model, "regularization", "plain")),
            lam=float(getattr(model, "lam", 0.0)),
            damping=float(getattr(model, "damping", 0.0) or 0.0),
            scale=(float(scale[0]), float(scale[1])) if scale is not None else None,
        )

    @classmethod
    def of_settings(cls, settings: dict, *, scale: tuple[float, float] | None = None) -> Form:
        """The form of the Train page's settings (``scale`` as in ``of_model``)."""
        return cls(
            biases=bool(settings["biases"]),
            regularization=str(settings["regularization"]),
            lam=float(settings["lam"]),
            damping=float(settings.get("damping", 0.0) or 0.0),
            scale=scale,
        )

    def unclipped(self) -> Form:
        return Form(self.biases, self.regularization, self.lam, self.damping, None)

    @property
    def weighted(self) -> bool:
        return self.regularization == "weighted"


def _names(side: str) -> tuple[str, str, str, str]:
    """(own symbol, own index, other symbol, other index) for the side being solved."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    return ("x", "u", "y", "i") if side == "users" else ("y", "i", "x", "u")


def number(value: float) -> str:
    """A setting as people write it: 1, 0.1, 2.5 (no trailing zeros)."""
    return f"{float(value):g}"


def short_number(value: float) -> str:
    """A short, readable number for a cell (3 significant digits, no exponent for normal sizes)."""
    if not np.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.2e}"


def matrix_latex(values: Any) -> str:
    """A LaTeX bmatrix of numbers (a 1-D array is one row), each as ``short_number`` writes it."""
    rows = np.atleast_2d(np.asarray(values, dtype=np.float64))
    body = r" \\ ".join(" & ".join(short_number(v) for v in row) for row in rows)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


def column_latex(values: Any) -> str:
    """A LaTeX column vector of numbers."""
    return matrix_latex(np.asarray(values, dtype=np.float64).reshape(-1, 1))


def scale_text(form: Form) -> str:
    """ "[1, 5]" for a clipped form, "" otherwise."""
    if form.scale is None:
        return ""
    return f"[{number(form.scale[0])}, {number(form.scale[1])}]"


# --------------------------------------------------------------------------------- labels
def baseline(form: Form) -> str:
    """The fixed part of every prediction: "μ + b_u + b_i", or "" without biases."""
    return "μ + b_u + b_i" if form.biases else ""


def prediction(form: Form, *, user: str = "u", item: str = "i") -> str:
    """The prediction rule as text: "μ + b_u + b_i + x_u·y_i" or "x_u·y_i"."""
    rule = f"x_{user}·y_{item}"
    return f"μ + b_{user} + b_{item} + {rule}" if form.biases else rule


def shown_prediction(form: Form) -> str:
    """What a shown prediction is, clipping included: "μ + b_u + b_i + x_u·y_i, clipped to
    [1, 5]"."""
    rule = prediction(form)
    return f"{rule}, clipped to {scale_text(form)}" if form.scale is not None else rule


def predictions_matrix(form: Form) -> str:
    """The whole table of predictions: "μ + b_u + b_i + XYᵀ" or "XYᵀ"."""
    return "μ + b_u + b_i + XYᵀ" if form.biases else "XYᵀ"


def predictions_panel(form: Form) -> str:
    """Title of a panel of predictions (the Reconstruction and Replay pages)."""
    text = f"R̂ = {predictions_matrix(form)}"
    if form.scale is not None:
        text += f", clipped to {scale_text(form)}"
    return text


def residual_panel() -> str:
    return "R − R̂ on rated cells"


def factorisation(form: Form) -> str:
    """R ≈ … as the model fits it: "R ≈ μ + b_u + b_i + X·Yᵀ" or "R ≈ X·Yᵀ"."""
    return "R ≈ μ + b_u + b_i + X·Yᵀ" if form.biases else "R ≈ X·Yᵀ"


def factor_target(form: Form) -> str:
    """What X·Yᵀ alone fits on the rated cells: "R − μ − b_u − b_i", or "R"."""
    return "R − μ − b_u − b_i" if form.biases else "R"


def data_term(form: Form) -> str:
    """The data term as a legend: "Σ(r − μ − b_u − b_i − x·y)²" or "Σ(r − x·y)²"."""
    inside = "r − μ − b_u − b_i − x·y" if form.biases else "r − x·y"
    return f"Σ({inside})²"


def _weight(form: Form, index: str, *, latex: bool = False) -> str:
    """Each row's penalty weight c: "" (plain), "n_u", or "(n_u + n₀)" (LaTeX: n_0)."""
    if not form.weighted:
        return ""
    damped = "n_0" if latex else "n₀"
    return f"(n_{index} + {damped})" if form.damping else f"n_{index}"


def penalty_term(form: Form) -> str:
    """The regularisation term as a legend, e.g. "λ(Σ n_u(‖x‖² + b_u²) + Σ n_i(‖y‖² + b_i²))"."""
    user = "(‖x_u‖² + b_u²)" if form.biases else "‖x_u‖²"
    item = "(‖y_i‖² + b_i²)" if form.biases else "‖y_i‖²"
    return f"λ(Σ{_weight(form, 'u')}{user} + Σ{_weight(form, 'i')}{item})"


def ridge(form: Form, side: str = "users") -> str:
    """The ridge on one row's diagonal in words: "λ" or "λ·n_u" or "λ·(n_u + n₀)"."""
    _, own, _, _ = _names(side)
    if not form.weighted:
        return "λ"
    return f"λ·(n_{own} + n₀)" if form.damping else f"λ·n_{own}"


def ridge_value(form: Form, n: int) -> float:
    """The ridge of a row with ``n`` training ratings."""
    return form.lam * (n + form.damping) if form.weighted else form.lam


def ridge_sentence(form: Form, n: int, side: str = "users") -> str:
    """Which ridge this row gets, with its numbers."""
    value = ridge_value(form, n)
    if not form.weighted:
        return (
            f"plain: ridge = λ = {number(form.lam)} for every row, whatever its number of ratings"
        )
    if form.damping:
        return (
            f"weighted (ALS-WR, damped): ridge = λ·(n + n₀) = {number(form.lam)} × ({n} + "
            f"{number(form.damping)}) = {value:.4g}"
        )
    return (
        f"weighted (ALS-WR): ridge = λ·n = {number(form.lam)} × {n} = {value:.4g} (λ times "
        "this row's number of ratings)"
    )


def lambda_caption(form: Form) -> str:
    """What λ multiplies under the form's regularisation, with its damping n₀ when set (the
    libraries disagree on λ, so the app says which)."""
    if form.weighted and form.damping:
        return (
            "Weighted (ALS-WR, damped): each user's and item's penalty is λ times its number of "
            f"ratings plus n₀ = {number(form.damping)}, λ·(n + n₀)·‖x‖², so λ is a per-rating "
            "strength (~0.01–1 is typical) and a row with few ratings keeps a ridge of at least "
            "λ·n₀."
        )
    if form.weighted:
        return (
            "Weighted (ALS-WR, as in Spark): each user's and item's penalty is λ times its number "
            "of ratings, λ·n·‖x‖², so λ is a per-rating strength and ~0.01–1 is typical."
        )
    return (
        "Plain (as in the article): one λ for every user and item, λ·‖x‖², whatever their number "
        "of ratings, so λ scales with the data and ~0.1–30 is typical on 1–5 star ratings."
    )


def system_size(form: Form, k: int) -> int:
    """Unknowns per row: k factors, plus the row's own bias with biases."""
    return int(k) + (1 if form.biases else 0)


def system_shape(form: Form, k: int) -> str:
    """ "3 × 3 (k + 1 with the bias)" or "2 × 2 (k × k)"."""
    n = system_size(form, k)
    how = "k + 1: the factors and the row's own bias" if form.biases else "k × k"
    return f"{n} × {n} ({how})"


def fixed_part(form: Form, side: str = "users") -> str:
    """What is held fixed in a row's prediction: "μ + b_i" (users), "μ + b_u" (items)."""
    _, _, _, other = _names(side)
    return f"μ + b_{other}" if form.biases else "0"


def target(form: Form, side: str = "users") -> str:
    """What one rating asks the solve to fit: "r − μ − b_i", or "r"."""
    _, _, _, other = _names(side)
    return f"r − μ − b_{other}" if form.biases else "r"


def target_sentence(
    form: Form, rating: float, offset: float, value: float, side: str = "users"
) -> str:
    """One rating's target with its numbers: "rated 2.5 → target = 2.5 − μ − b_i = −1.03"."""
    if not form.biases:
        return f"rated {number(rating)} → target = r = {number(rating)}"
    _, _, _, other = _names(side)
    return (
        f"rated {number(rating)} → target = {number(rating)} − μ − b_{other} = "
        f"{number(rating)} − {offset:.3f} = {value:.3f}"
    )


def train_rmse_note(form: Form) -> str:
    """How the Train RMSE is measured (the objective's own residuals)."""
    return (
        f"Train RMSE: √(data term ÷ training ratings), from the unclipped predictions "
        f"{prediction(form)} the objective sees."
    )


def validation_rmse_note(form: Form) -> str:
    """How the validation RMSE is measured (the app's predictions, clipped)."""
    clip = f", clipped to {scale_text(form)}" if form.scale is not None else ""
    return f"Validation RMSE: held-out ratings against the predictions {prediction(form)}{clip}."


def half_step_label(iteration: int, side: str) -> str:
    """ "iteration 2: users solved"."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    return f"iteration {iteration}: {side} solved"


# --------------------------------------------------------------------------------- LaTeX
def prediction_latex(form: Form, *, user: str = "u", item: str = "i") -> str:
    rule = rf"x_{{{user}}}^\top y_{{{item}}}"
    lhs = rf"\hat r_{{{user}{item}}}"
    if form.biases:
        return rf"{lhs} = \mu + b_{{{user}}} + b_{{{item}}} + {rule}"
    return rf"{lhs} = {rule}"


def objective_latex(form: Form) -> str:
    """The objective this model minimises (two lines with biases)."""
    inside = r"r_{ui} - \mu - b_u - b_i - x_u^\top y_i" if form.biases else r"r_{ui} - x_u^\top y_i"
    data = rf"\sum_{{(u,i)\ \text{{rated}}}} \big({inside}\big)^2"
    user = r"\big(\lVert x_u\rVert^2 + b_u^2\big)" if form.biases else r"\lVert x_u\rVert^2"
    item = r"\big(\lVert y_i\rVert^2 + b_i^2\big)" if form.biases else r"\lVert y_i\rVert^2"
    user, item = _weight(form, "u", latex=True) + user, _weight(form, "i", latex=True) + item
    penalty = rf"\lambda\Big(\sum_u {user} + \sum_i {item}\Big)"
    if form.biases:
        return rf"\begin{{aligned}}\min_{{X,Y,b}}\ &{data} \\ &+ {penalty}\end{{aligned}}"
    return rf"\min_{{X,Y}}\ {data} + {penalty}"


def ridge_latex(form: Form, side: str = "users") -> str:
    _, own, _, _ = _names(side)
    if not form.weighted:
        return r"\lambda"
    return rf"\lambda (n_{own} + n_0)" if form.damping else rf"\lambda n_{own}"


def update_latex(form: Form, side: str = "users", *, who: str | None = None) -> str:
    """One row's exact update as the library solves it.

    ``who`` names the row instead of its index (e.g. ``r"\\text{you}"`` for a folded-in user).
    """
    own_symbol, own, other_symbol, other = _names(side)
    row = who or own
    rated = rf"\sum_{{{other} \in \text{{rated}}({row})}}"
    ridge_term = ridge_latex(form, side).replace(f"n_{own}", f"n_{{{row}}}")
    rating = rf"r_{{{row}{other}}}" if side == "users" else rf"r_{{{other}{row}}}"
    if not form.biases:
        fixed = f"{other_symbol}_{other}"
        return (
            rf"{own_symbol}_{{{row}}} = \Big({rated} {fixed} {fixed}^\top + {ridge_term} I"
            rf"\Big)^{{-1}} {rated} {rating}\, {fixed}"
        )
    tilde = rf"\tilde {other_symbol}_{other}"
    return (
        rf"\begin{{bmatrix}} {own_symbol}_{{{row}}} \\ b_{{{row}}} \end{{bmatrix}} = "
        rf"\Big({rated} {tilde} {tilde}^\top + {ridge_term} I\Big)^{{-1}} {rated} "
        rf"\big({rating} - \mu - b_{other}\big)\, {tilde}, \qquad "
        rf"{tilde} = \begin{{bmatrix}} {other_symbol}_{other} \\ 1 \end{{bmatrix}}"
    )


def row_objective_latex(form: Form, side: str = "users") -> str:
    """The part of the objective one row's update minimises (its ratings and its penalty)."""
    own_symbol, own, other_symbol, other = _names(side)
    rating = rf"r_{{{own}{other}}}" if side == "users" else rf"r_{{{other}{own}}}"
    fit = rf"{own_symbol}_{own}^\top {other_symbol}_{other}"
    inside = (
        rf"{rating} - \mu - b_{own} - b_{other} - {fit}" if form.biases else rf"{rating} - {fit}"
    )
    own_sq = rf"\lVert {own_symbol}_{own}\rVert^2"
    if form.biases:
        own_sq = rf"\big({own_sq} + b_{own}^2\big)"
    return (
        rf"f_{own} = \sum_{{{other} \in \text{{rated}}({own})}} \big({inside}\big)^2 + "
        rf"{ridge_latex(form, side)}\,{own_sq}"
    )
