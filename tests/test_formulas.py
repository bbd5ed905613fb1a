"""The text the app teaches follows the model's settings: biases on/off, plain/weighted (with
damping), clipped or not. Pinned here as literal strings, so a label that drifts from what the
model computes fails."""

from __future__ import annotations

import pytest

import als_core as ac
from dashboard import formulas as f

PLAIN = f.Form(biases=False, regularization="plain", lam=1.0)
BIASED = f.Form(biases=True, regularization="plain", lam=1.0, scale=(1.0, 5.0))
WEIGHTED = f.Form(biases=False, regularization="weighted", lam=0.1)
DAMPED = f.Form(biases=True, regularization="weighted", lam=0.1, damping=5.0)


def test_the_form_is_read_from_a_fitted_model():
    ratings = ac.load_sample("tiny")
    model = ac.ALS(k=2, lam=0.3, regularization="weighted", biases=True, damping=2.0).fit(ratings)
    form = f.Form.of_model(model)
    assert form == f.Form(True, "weighted", 0.3, 2.0, model.rating_scale_)
    assert f.Form.of_model(model, clipped=False).scale is None
    settings = {"biases": False, "regularization": "plain", "lam": 2.0}
    assert f.Form.of_settings(settings) == f.Form(False, "plain", 2.0, 0.0, None)


def test_prediction_rule_and_its_matrix_name_follow_the_biases():
    assert f.prediction(PLAIN) == "x_u·y_i"
    assert f.prediction(BIASED) == "μ + b_u + b_i + x_u·y_i"
    assert f.shown_prediction(BIASED) == "μ + b_u + b_i + x_u·y_i, clipped to [1, 5]"
    assert f.shown_prediction(PLAIN) == "x_u·y_i"
    assert f.predictions_matrix(PLAIN) == "XYᵀ"
    assert f.predictions_matrix(BIASED) == "μ + b_u + b_i + XYᵀ"
    assert f.predictions_panel(BIASED) == "R̂ = μ + b_u + b_i + XYᵀ, clipped to [1, 5]"
    assert f.predictions_panel(PLAIN) == "R̂ = XYᵀ"
    assert f.factorisation(PLAIN) == "R ≈ X·Yᵀ"
    assert f.factorisation(BIASED) == "R ≈ μ + b_u + b_i + X·Yᵀ"
    assert f.factor_target(BIASED) == "R − μ − b_u − b_i"
    assert f.prediction_latex(PLAIN) == r"\hat r_{ui} = x_{u}^\top y_{i}"
    assert f.prediction_latex(BIASED) == r"\hat r_{ui} = \mu + b_{u} + b_{i} + x_{u}^\top y_{i}"


def test_objective_terms_follow_biases_and_regularisation():
    assert f.data_term(PLAIN) == "Σ(r − x·y)²"
    assert f.data_term(BIASED) == "Σ(r − μ − b_u − b_i − x·y)²"
    assert f.penalty_term(PLAIN) == "λ(Σ‖x_u‖² + Σ‖y_i‖²)"
    assert f.penalty_term(BIASED) == "λ(Σ(‖x_u‖² + b_u²) + Σ(‖y_i‖² + b_i²))"
    assert f.penalty_term(WEIGHTED) == "λ(Σn_u‖x_u‖² + Σn_i‖y_i‖²)"
    assert f.penalty_term(DAMPED) == "λ(Σ(n_u + n₀)(‖x_u‖² + b_u²) + Σ(n_i + n₀)(‖y_i‖² + b_i²))"
    assert "b_u^2" in f.objective_latex(BIASED) and r"\mu" in f.objective_latex(BIASED)
    assert "b_u" not in f.objective_latex(PLAIN) and r"\mu" not in f.objective_latex(PLAIN)
    assert "n_u" in f.objective_latex(WEIGHTED) and "n_0" not in f.objective_latex(WEIGHTED)
    assert "(n_u + n_0)" in f.objective_latex(DAMPED)


@pytest.mark.parametrize("side", ["users", "items"])
def test_the_update_is_the_system_the_library_solves(side):
    own, other = ("x_{u}", "y_i") if side == "users" else ("y_{i}", "x_u")
    plain = f.update_latex(PLAIN, side)
    assert plain.startswith(own + " = ") and r"\lambda I" in plain and r"\tilde" not in plain
    biased = f.update_latex(BIASED, side)
    # The augmented [f; 1] system with the bias as one more unknown and the fixed part removed.
    assert r"\begin{bmatrix} " + own in biased and r"\tilde " + other in biased
    assert (r"- \mu - b_i" if side == "users" else r"- \mu - b_u") in biased
    index = "u" if side == "users" else "i"
    assert rf"\lambda n_{{{index}}} I" in f.update_latex(WEIGHTED, side)
    assert rf"\lambda (n_{{{index}}} + n_0) I" in f.update_latex(DAMPED, side)
    you = f.update_latex(BIASED, "users", who=r"\text{you}")
    assert r"x_{\text{you}} \\ b_{\text{you}}" in you


def test_system_size_target_and_ridge():
    assert f.system_size(PLAIN, 2) == 2 and f.system_size(BIASED, 2) == 3
    assert f.system_shape(PLAIN, 2) == "2 × 2 (k × k)"
    assert f.system_shape(BIASED, 2).startswith("3 × 3 (k + 1")
    assert f.target(BIASED) == "r − μ − b_i" and f.target(BIASED, "items") == "r − μ − b_u"
    assert f.target(PLAIN) == "r"
    assert f.target_sentence(BIASED, 2.5, 3.53, -1.03) == (
        "rated 2.5 → target = 2.5 − μ − b_i = 2.5 − 3.530 = -1.030"
    )
    assert f.target_sentence(PLAIN, 4.0, 0.0, 4.0) == "rated 4 → target = r = 4"
    assert f.ridge(PLAIN) == "λ" and f.ridge(WEIGHTED, "items") == "λ·n_i"
    assert f.ridge(DAMPED) == "λ·(n_u + n₀)"
    assert f.ridge_value(PLAIN, 7) == 1.0
    assert f.ridge_value(WEIGHTED, 7) == pytest.approx(0.7)
    assert f.ridge_value(DAMPED, 7) == pytest.approx(1.2)
    assert "0.1 × (7 + 5) = 1.2" in f.ridge_sentence(DAMPED, 7)
    assert "0.1 × 7 = 0.7" in f.ridge_sentence(WEIGHTED, 7)


def test_rmse_notes_say_what_is_clipped():
    assert "unclipped" in f.train_rmse_note(BIASED)
    assert f.validation_rmse_note(BIASED).endswith("μ + b_u + b_i + x_u·y_i, clipped to [1, 5].")
    assert "clipped" not in f.validation_rmse_note(PLAIN)


def test_half_step_axis_and_labels():
    assert f.half_step_label(2, "users") == "iteration 2: users solved"
    assert "t − ½" in f.HALF_STEP_AXIS and "users" in f.HALF_STEP_AXIS
    with pytest.raises(ValueError, match="side must be one of"):
        f.half_step_label(1, "both")


def test_numbers_are_written_short_and_matrices_as_bmatrix_rows():
    assert [f.short_number(v) for v in (0.0, 0.123456, 123.4, 12345.0, 2e-5)] == [
        "0",
        "0.123",
        "123",
        "1.23e+04",
        "2.00e-05",
    ]
    assert f.short_number(float("nan")) == ""
    assert f.matrix_latex([[1.0, 0.5], [-2.0, 0.0]]) == (
        r"\begin{bmatrix}1 & 0.5 \\ -2 & 0\end{bmatrix}"
    )
    assert f.matrix_latex([1.0, 2.0]) == r"\begin{bmatrix}1 & 2\end{bmatrix}"  # one row
    assert f.column_latex([1.0, 2.0]) == r"\begin{bmatrix}1 \\ 2\end{bmatrix}"


def test_the_lambda_caption_names_the_damping_the_model_uses():
    ratings = ac.load_sample("tiny")
    damped = ac.ALS(k=2, lam=0.1, regularization="weighted", damping=5.0).fit(ratings)
    caption = f.lambda_caption(f.Form.of_model(damped))
    assert caption.startswith("Weighted (ALS-WR, damped)")
    assert "n₀ = 5, λ·(n + n₀)·‖x‖²" in caption and "at least λ·n₀" in caption
    # The ridge it describes is the one the model's half-step uses: λ·(n + n₀).
    assert f.ridge_value(f.Form.of_model(damped), 3) == pytest.approx(0.1 * (3 + 5))
    undamped = ac.ALS(k=2, lam=0.1, regularization="weighted").fit(ratings)
    assert "n₀" not in f.lambda_caption(f.Form.of_model(undamped))
    assert "as in Spark" in f.lambda_caption(f.Form.of_model(undamped))
    plain = ac.ALS(k=2, lam=0.1).fit(ratings)
    assert f.lambda_caption(f.Form.of_model(plain)).startswith("Plain (as in the article)")
