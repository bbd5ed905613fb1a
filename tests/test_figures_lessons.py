"""The lecturer's figures on the "How ALS works" page, drawn from a real small fit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

import als_core as ac
from dashboard import formulas, lessons
from dashboard.figures import MOST_LOG_TICKS
from dashboard.figures import lessons as figs


def gauge_of_a_fit(k: int = 2):
    rng = np.random.default_rng(0)
    u, i = np.nonzero(rng.random((30, 20)) < 0.4)
    r = ac.Ratings.from_codes(u, i, rng.integers(1, 6, len(u)).astype(float), shape=(30, 20))
    model = ac.ALS(k=k, lam=1.0, iterations=5, biases=True, seed=0).fit(r)
    gauge = lessons.gauge(SimpleNamespace(model=model, train=r))
    return gauge, figs.gauge_figure(gauge.scale, gauge.rotation, formulas.Form.of_model(model))


def test_the_rescaling_axis_labels_say_the_values_of_d():
    gauge, fig = gauge_of_a_fit()
    d = gauge.scale["d"]
    ticks = list(fig.layout.xaxis.tickvals)
    # Plotly's own log labels would read "2 3 4 … 9 1 2 3"; these are values of d.
    assert 1 in ticks and 2 <= len(ticks) <= MOST_LOG_TICKS
    assert all(d.min() / 1.05 <= t <= d.max() * 1.05 for t in ticks)
    assert fig.layout.xaxis.type == "log"


def test_only_the_left_panel_carries_the_value_title():
    _, fig = gauge_of_a_fit()
    assert fig.layout.yaxis.title.text == "value"
    # The right panel's title would be drawn over the left panel's penalty curve.
    assert fig.layout.yaxis2.title.text is None
