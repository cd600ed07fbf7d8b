"""Plotly figures of a sweep, built from the JSON the status page draws (issue 13, item 8).

`Sweep.plot(kind)` fetches `/api/v1/sweeps/{id}/figures/...` and hands it to one of these:

    accuracy   each seed's test accuracy per initializer (a box with every point), best first
    curves     the mean training-cost curve per initializer with the band of the middle 80 %
    units      every first-layer hidden unit, raw beside canonical: copies of one solution
               collapse onto the same points once permutations and sign flips are removed

plotly is imported only here, so the light client needs it only for plots
(`pip install 'sweepd[plot]'`).
"""

from __future__ import annotations

from statistics import median
from typing import Any

KINDS = ("accuracy", "curves", "units")
# The page's palette (api/web/static/plots.js) so a notebook and the page colour alike.
COLORS = ("#2f6fdf", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#e67700",
          "#5c940d", "#862e9c", "#495057")


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError("sweep.plot() needs plotly: pip install 'sweepd[plot]'") from None
    return go


def accuracy(trials: dict[str, Any], metric: str = "test_accuracy") -> Any:
    """Each finished trial's `metric` per group (initializer at a grid point), best median first.

    Args:
        trials: the `figures/trials` JSON (`rows`: one per trial).
        metric: a row field: test_accuracy, train_accuracy, train_cost_tail or test_cost.
    """
    go = _plotly()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in trials["rows"]:
        if row.get(metric) is not None:
            groups.setdefault(row["group"], []).append(row)
    larger_is_better = "accuracy" in metric
    order = sorted(groups, key=lambda g: median(r[metric] for r in groups[g]),
                   reverse=larger_is_better)
    fig = go.Figure()
    for i, group in enumerate(order):
        rows = groups[group]
        fig.add_trace(go.Box(
            x=[r[metric] for r in rows], y=[group] * len(rows), name=group, orientation="h",
            boxpoints="all", jitter=0.5, pointpos=0, marker_color=COLORS[i % len(COLORS)],
            customdata=[[r["id"], r["seed"]] for r in rows],
            hovertemplate=f"trial %{{customdata[0]}} · seed %{{customdata[1]}}<br>{metric} %{{x:.4f}}"
                          "<extra></extra>"))
    fig.update_layout(title=f"{metric} per initializer, one point per seed (best median on top)",
                      showlegend=False, height=max(260, 60 + 34 * len(order)),
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis_title=metric, template="plotly_white")
    return fig


def curves(trials: dict[str, Any]) -> Any:
    """The mean training-cost curve per group with the 10th–90th percentile band of its seeds.

    Args:
        trials: the `figures/trials` JSON (`curves`: one band per group).
    """
    go = _plotly()
    fig = go.Figure()
    for i, band in enumerate(trials["curves"]):
        color = COLORS[i % len(COLORS)]
        kept = [k for k, (lo, hi) in enumerate(zip(band["low"], band["high"]))
                if lo is not None and hi is not None]
        fig.add_trace(go.Scatter(
            x=[band["steps"][k] for k in kept + kept[::-1]],
            y=[band["high"][k] for k in kept] + [band["low"][k] for k in kept[::-1]],
            fill="toself", line={"width": 0, "color": color}, opacity=0.18, hoverinfo="skip",
            showlegend=False, legendgroup=band["group"]))
        fig.add_trace(go.Scatter(x=band["steps"], y=band["mean"], mode="lines",
                                 name=f"{band['group']} ({band['n']})", legendgroup=band["group"],
                                 line={"color": color, "width": 2}))
    fig.update_layout(title="Training cost: mean over seeds, band of the middle 80 %",
                      xaxis_title="step", yaxis_title="training cost", yaxis_type="log",
                      template="plotly_white", height=420)
    return fig


def units(data: dict[str, Any]) -> Any:
    """Every first-layer hidden unit, raw (left) and in canonical form (right), coloured by
    its position in the layer; a binned point (large sweeps) stands for `count` units.

    Args:
        data: the `figures/units` JSON.
    """
    go = _plotly()
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Raw weights", "Canonical form"),
                        shared_yaxes=False, horizontal_spacing=0.08)
    width = max((u for g in data["groups"] for u in g["raw"]["units"]), default=0)
    for unit in range(1, width + 1):
        color = COLORS[(unit - 1) % len(COLORS)]
        for col, key in ((1, "raw"), (2, "canonical")):
            xs, ys, counts, ids = [], [], [], []
            for group in data["groups"]:
                panel = group[key]
                for k, u in enumerate(panel["units"]):
                    if u == unit:
                        xs.append(panel["x"][k])
                        ys.append(panel["y"][k])
                        counts.append(panel["count"][k])
                        ids.append(panel["trial_ids"][k])
            size = [min(6 + 2 * (c - 1) ** 0.5, 18) for c in counts] if data["binned"] else 6
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="markers", name=f"unit {unit}", legendgroup=f"unit {unit}",
                showlegend=col == 1, marker={"color": color, "size": size, "opacity": 0.6},
                customdata=[[i, c] for i, c in zip(ids, counts)],
                hovertemplate="trial %{customdata[0]} (%{customdata[1]} unit(s))<br>"
                              "(%{x:.3f}, %{y:.3f})<extra></extra>"), row=1, col=col)
    ax, ay = data["axes"]
    for col in (1, 2):
        fig.update_xaxes(title_text=ax, row=1, col=col)
        fig.update_yaxes(title_text=ay, row=1, col=col)
    fig.update_layout(title=f"{data['n_units']} hidden units of {data['n_trials']} trials: "
                            "aligned, copies of one solution coincide",
                      template="plotly_white", height=460)
    return fig
