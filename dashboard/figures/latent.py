"""The latent-space map and the recommendation breakdown: pure figure code.

Users and items are drawn in ONE 2-D basis (``ac.shared_projection``). Big data are sampled to a
bounded number of points (the chosen item, user, neighbours and recommendations are always
drawn), and every big trace of the map lives in one subplot, so the page uses a single WebGL
context however many traces there are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import als_core as ac

from ..text import plotly_escape
from . import CATEGORY_PALETTE, category_colours, short_names, shown_names

MAX_ITEMS_DRAWN = 3000
MAX_USERS_DRAWN = 2000
#: Above this many points in the map, its scatters switch to WebGL (one context per figure).
WEBGL_ABOVE = 1500
ITEM_SCALE = "Viridis"
USER_SCALE = [[0.0, "#d9d9d9"], [1.0, "#1a1a1a"]]  # light users stay visible
CATEGORY_COLOURS = CATEGORY_PALETTE
HIGHLIGHT = {"item": "#d62728", "neighbour": "#ff7f0e", "user": "#111111", "rec": "#2ca02c"}


def latent_figure(
    projection: ac.Projection,
    *,
    item_labels: Sequence[str] | np.ndarray,
    user_labels: Sequence[str] | np.ndarray,
    item_colour: Sequence | np.ndarray,
    item_colour_title: str,
    user_activity: Sequence[float] | np.ndarray,
    categorical: bool = False,
    chosen_item: int | None = None,
    neighbours: Sequence[int] = (),
    chosen_user: int | None = None,
    recommended: Sequence[int] = (),
    neighbours_name: str | None = None,
    uirevision: str = "latent",
    seed: int = 0,
    height: int = 620,
) -> go.Figure:
    """Items and users in one shared 2-D basis.

    ``item_colour`` holds one value per item: category names when ``categorical`` (e.g. genre)
    or numbers (mean rating, log popularity). Users are coloured by ``user_activity`` (number of
    ratings, drawn on a log scale). ``chosen_item`` is marked with its ``neighbours``, and
    ``chosen_user`` with the ``recommended`` items, each joined by thin lines.
    """
    # Names are the user's (a names file): each drawn one goes through ``shown_names`` (shown
    # as written, never read as markup); escaping only those drawn keeps big data quick.
    item_labels = np.asarray(item_labels, dtype=object)
    user_labels = np.asarray(user_labels, dtype=object)
    item_colour = np.asarray(item_colour, dtype=object if categorical else np.float64)
    activity = np.asarray(user_activity, dtype=np.float64)
    one_d = projection.method == "raw-1d"
    item_xy, user_xy = _layout_points(projection, one_d)
    rng = np.random.default_rng(seed)
    items_shown = _sample(len(item_xy), MAX_ITEMS_DRAWN, rng)
    users_shown = _sample(len(user_xy), MAX_USERS_DRAWN, rng)
    Scatter = go.Scattergl if len(items_shown) + len(users_shown) > WEBGL_ABOVE else go.Scatter

    fig = go.Figure()
    user_size = 5 if len(users_shown) > 500 else 7
    fig.add_trace(
        Scatter(
            x=user_xy[users_shown, 0],
            y=user_xy[users_shown, 1],
            mode="markers",
            name=f"users ({_shown(users_shown, len(user_xy))})",
            marker={
                "symbol": "circle",
                "size": user_size,
                "color": np.log10(1 + activity[users_shown]),
                "coloraxis": "coloraxis2",
                "opacity": 0.55,
            },
            customdata=activity[users_shown],
            text=shown_names(user_labels[users_shown]),
            hovertemplate="%{text}<br>%{customdata:.0f} ratings<extra>user</extra>",
        )
    )
    item_size = 7 if len(items_shown) > 500 else 10
    if categorical:
        _add_item_categories(
            fig,
            Scatter,
            item_xy,
            items_shown,
            item_labels,
            item_colour,
            item_colour_title,
            item_size,
        )
    else:
        fig.add_trace(
            Scatter(
                x=item_xy[items_shown, 0],
                y=item_xy[items_shown, 1],
                mode="markers",
                name=f"items ({_shown(items_shown, len(item_xy))})",
                marker={
                    "symbol": "diamond",
                    "size": item_size,
                    "color": item_colour[items_shown],
                    "coloraxis": "coloraxis",
                    "line": {"width": 0.5, "color": "white"},
                },
                customdata=item_colour[items_shown],
                text=shown_names(item_labels[items_shown]),
                hovertemplate="%{text}<br>"
                + item_colour_title
                + ": %{customdata:.2f}<extra>item</extra>",
            )
        )
    _add_highlights(
        fig,
        Scatter,
        item_xy,
        user_xy,
        item_labels,
        user_labels,
        chosen_item,
        neighbours,
        chosen_user,
        recommended,
        neighbours_name or "nearest neighbours (cosine)",
    )
    x_title, y_title = projection.axis_titles
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 90},
        uirevision=uirevision,
        legend={"orientation": "v", "x": 1.02, "y": 1.0, "itemsizing": "constant"},
        coloraxis={
            "colorscale": ITEM_SCALE,
            "colorbar": _bottom_colorbar(f"items: {item_colour_title}", x=0.25),
        },
        coloraxis2={
            "colorscale": USER_SCALE,
            "cmin": 0,
            "colorbar": _bottom_colorbar("users: log₁₀(1 + ratings)", x=0.75),
        },
        xaxis={"title": {"text": x_title}, "zeroline": True},
        yaxis={"title": {"text": y_title}, "zeroline": True},
        meta={"items_drawn": len(items_shown), "users_drawn": len(users_shown)},
    )
    if categorical:
        fig.update_layout(coloraxis_showscale=False)
    if one_d:
        fig.update_yaxes(
            tickvals=[0, 1], ticktext=["users", "items"], range=[-0.6, 1.6], zeroline=False
        )
    else:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def _bottom_colorbar(title: str, *, x: float) -> dict:
    return {
        "title": {"text": title, "side": "top"},
        "orientation": "h",
        "x": x,
        "xanchor": "center",
        "y": -0.12,
        "yanchor": "top",
        "len": 0.4,
        "thickness": 12,
    }


def _layout_points(projection: ac.Projection, one_d: bool) -> tuple[np.ndarray, np.ndarray]:
    """With k = 1 the map has one real axis: items on one row, users on another."""
    items, users = projection.items.copy(), projection.users.copy()
    if one_d:
        items[:, 1], users[:, 1] = 1.0, 0.0
    return items, users


def _sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def _shown(shown: np.ndarray, total: int) -> str:
    return f"{total:,}" if len(shown) == total else f"{len(shown):,} of {total:,} drawn"


def _add_item_categories(
    fig: go.Figure,
    Scatter: type,
    item_xy: np.ndarray,
    shown: np.ndarray,
    labels: np.ndarray,
    colour: np.ndarray,
    title: str,
    size: int,
) -> None:
    """One trace per category (legend entries you can click), largest category first, in the
    app's shared colours (``category_colours`` of every item's category)."""
    colours = category_colours(colour)
    cats = pd.Series(colour[shown]).astype(str)
    drawn = set(cats)
    order = [c for c in colours if c in drawn]
    for j, cat in enumerate(order):
        pick = shown[(cats == cat).to_numpy()]
        fig.add_trace(
            Scatter(
                x=item_xy[pick, 0],
                y=item_xy[pick, 1],
                mode="markers",
                name=plotly_escape(cat),
                legendgroup="items",
                legendgrouptitle={"text": f"items by {title}"} if j == 0 else None,
                marker={
                    "symbol": "diamond",
                    "size": size,
                    "color": colours[cat],
                    "line": {"width": 0.5, "color": "white"},
                },
                text=shown_names(labels[pick]),
                hovertemplate="%{text}<br>" + f"{title}: {plotly_escape(cat)}<extra>item</extra>",
            )
        )


def _add_highlights(
    fig: go.Figure,
    Scatter: type,
    item_xy: np.ndarray,
    user_xy: np.ndarray,
    item_labels: np.ndarray,
    user_labels: np.ndarray,
    chosen_item: int | None,
    neighbours: Sequence[int],
    chosen_user: int | None,
    recommended: Sequence[int],
    neighbours_name: str,
) -> None:
    """Drawn last and with the clouds' trace type: a WebGL canvas sits above the SVG layer, so
    SVG highlights would hide under a big WebGL cloud."""
    if chosen_item is not None:
        near = np.asarray(neighbours, dtype=np.int64)
        origin = item_xy[chosen_item]
        _spokes(fig, Scatter, origin, item_xy[near], HIGHLIGHT["neighbour"], "neighbours")
        fig.add_trace(
            Scatter(
                x=item_xy[near, 0],
                y=item_xy[near, 1],
                mode="markers",
                name=neighbours_name,
                marker={
                    "symbol": "circle-open",
                    "size": 15,
                    "line": {"width": 2.5},
                    "color": HIGHLIGHT["neighbour"],
                },
                text=shown_names(item_labels[near]),
                hovertemplate="%{text}<extra>neighbour</extra>",
            )
        )
        fig.add_trace(
            Scatter(
                x=[item_xy[chosen_item, 0]],
                y=[item_xy[chosen_item, 1]],
                mode="markers",
                name="chosen item",
                marker={
                    "symbol": "star",
                    "size": 20,
                    "color": HIGHLIGHT["item"],
                    "line": {"width": 1, "color": "white"},
                },
                text=[plotly_escape(item_labels[chosen_item])],
                hovertemplate="%{text}<extra>chosen item</extra>",
            )
        )
        _name_tag(fig, item_xy[chosen_item], item_labels[chosen_item], HIGHLIGHT["item"], -30)
    if chosen_user is not None:
        recs = np.asarray(recommended, dtype=np.int64)
        origin = user_xy[chosen_user]
        _spokes(fig, Scatter, origin, item_xy[recs], HIGHLIGHT["rec"], "recommendations")
        fig.add_trace(
            Scatter(
                x=item_xy[recs, 0],
                y=item_xy[recs, 1],
                mode="markers",
                name="recommended for the user",
                marker={
                    "symbol": "square-open",
                    "size": 14,
                    "line": {"width": 2.5},
                    "color": HIGHLIGHT["rec"],
                },
                text=shown_names(item_labels[recs]),
                hovertemplate="%{text}<extra>recommended</extra>",
            )
        )
        fig.add_trace(
            Scatter(
                x=[user_xy[chosen_user, 0]],
                y=[user_xy[chosen_user, 1]],
                mode="markers",
                name="chosen user",
                marker={
                    "symbol": "x",
                    "size": 16,
                    "color": HIGHLIGHT["user"],
                    "line": {"width": 1, "color": "white"},
                },
                text=[plotly_escape(user_labels[chosen_user])],
                hovertemplate="%{text}<extra>chosen user</extra>",
            )
        )
        _name_tag(fig, user_xy[chosen_user], user_labels[chosen_user], HIGHLIGHT["user"], 30)


def _name_tag(fig: go.Figure, at: np.ndarray, name: object, colour: str, offset_px: int) -> None:
    """The chosen point's name on a white tag joined to it: an annotation is drawn above every
    trace (WebGL clouds too), so a title stays readable in the densest part of the map."""
    fig.add_annotation(
        x=float(at[0]),
        y=float(at[1]),
        text=plotly_escape(name),
        showarrow=True,
        arrowcolor=colour,
        arrowwidth=1.5,
        arrowhead=0,
        ax=0,
        ay=offset_px,
        font={"color": colour, "size": 13},
        bgcolor="rgba(255, 255, 255, 0.9)",
        bordercolor=colour,
        borderpad=3,
    )


def _spokes(
    fig: go.Figure, Scatter: type, origin: np.ndarray, ends: np.ndarray, colour: str, name: str
) -> None:
    if len(ends) == 0:
        return
    xs, ys = [], []
    for end in ends:
        xs += [origin[0], end[0], None]
        ys += [origin[1], end[1], None]
    fig.add_trace(
        Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": colour, "width": 1, "dash": "dot"},
            hoverinfo="skip",
            showlegend=False,
            name=name,
        )
    )


#: Row labels of the score waterfall are cut to this many characters.
WATERFALL_LABEL_CHARS = 40


def contributions_figure(
    explained: pd.DataFrame, *, item_labels: Sequence[str] | np.ndarray, height: int | None = None
) -> go.Figure:
    """How each recommendation's score is made: one waterfall per item, from μ to the score.

    ``explained`` is ``ac.explain_recommendations(...)`` (tidy: rank, item, score, part,
    contribution). Each row starts at the global mean μ (0 without biases; a dotted line) and
    every other part is a segment from the running total to the running total plus its
    contribution, in the order of ``explained``, each a step down in its own lane of the row:
    the last segment ends exactly at the score, marked by a black tick.
    """
    # Short row labels leave the bars the width (a MovieLens title runs to 90 characters);
    # the hover gives the whole name.
    labels = short_names(item_labels, WATERFALL_LABEL_CHARS)
    full = shown_names(item_labels)
    recs = explained.drop_duplicates("rank").sort_values("rank")
    names = [f"{r}. {labels[i]}" for r, i in zip(recs["rank"], recs["item"], strict=True)]
    name_of = dict(zip(recs["rank"], names, strict=True))
    full_of = dict(zip(recs["rank"], full[recs["item"].to_numpy()], strict=True))
    start = _waterfall_start(explained)
    steps = explained[explained["part"] != "global mean"]
    running = steps.groupby("rank", sort=False)["contribution"].cumsum() - steps["contribution"]
    bases = running + steps["rank"].map(start)
    fig = go.Figure()
    parts = list(dict.fromkeys(steps["part"]))
    for j, part in enumerate(parts):
        rows = steps["part"] == part
        fig.add_trace(
            go.Bar(
                x=steps.loc[rows, "contribution"],
                base=bases[rows],
                y=[name_of[r] for r in steps.loc[rows, "rank"]],
                orientation="h",
                name=part,
                marker_color=_part_colour(part, j),
                customdata=list(
                    zip(
                        bases[rows].astype(float),
                        (bases[rows] + steps.loc[rows, "contribution"]).astype(float),
                        [full_of[r] for r in steps.loc[rows, "rank"]],
                        strict=True,
                    )
                ),
                hovertemplate="%{customdata[2]}<br>"
                + part
                + ": %{x:+.3f}<br>%{customdata[0]:.3f} → %{customdata[1]:.3f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=recs["score"],
            y=names,
            mode="markers",
            name="score (the sum)",
            marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "black"}},
            customdata=[full_of[r] for r in recs["rank"]],
            hovertemplate="%{customdata}<br>score: %{x:.3f}<extra></extra>",
        )
    )
    mu = float(start.iloc[0]) if len(start) else 0.0
    label = f"start: μ = {mu:.2f}" if "global mean" in set(explained["part"]) else "start: 0"
    fig.add_vline(
        x=mu,
        line={"color": "#444", "dash": "dot", "width": 1.5},
        annotation={"text": label},
        annotation_position="top",
    )
    fig.update_layout(
        # Each part in its own lane of the row (a staircase), so a step back over an earlier
        # one never hides it.
        barmode="group",
        bargap=0.18,
        bargroupgap=0.0,
        height=height or 150 + 40 * len(names),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": {"text": "predicted score: each part moves it from the start"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "v", "x": 1.01},
    )
    return fig


def _waterfall_start(explained: pd.DataFrame) -> pd.Series:
    """Each recommendation's starting value: its global-mean part (μ), or 0 without one."""
    ranks = explained["rank"].drop_duplicates()
    mu = explained[explained["part"] == "global mean"].set_index("rank")["contribution"]
    return pd.Series([float(mu.get(r, 0.0)) for r in ranks], index=ranks.to_numpy())


#: Baseline parts in greys, taste factors in colours, so the two kinds read apart at a glance.
BASELINE_COLOURS = {
    "global mean": "#d9d9d9",
    "user bias": "#969696",
    "item bias": "#636363",
    "cold-start fallback": "#f0f0f0",
}
FACTOR_COLOURS = [c for c in CATEGORY_COLOURS if c.upper() not in ("#7F7F7F", "#C7C7C7")]


def _part_colour(part: str, j: int) -> str:
    if part in BASELINE_COLOURS:
        return BASELINE_COLOURS[part]
    factor = int(part.split()[-1]) - 1 if part.startswith("factor ") else j
    return FACTOR_COLOURS[factor % len(FACTOR_COLOURS)]
