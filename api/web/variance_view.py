"""The sweep page's "Where the spread comes from" card (issue 16): the variance components of
the comparison's ranked metric as horizontal bars of σ with their confidence intervals.

The page knows from the spec alone whether the card applies (`page_card`: at least two seeds
crossed with order seeds or data draws, as `sweepd.comparisons` decides); the numbers come with
the comparison (`variance_card`), every bar placed here in the SVG's view box so that the
script only draws. Bars keep the decomposition's order (main effects, interactions, residual),
then the test set's binomial noise, which is no component: it is a part of those above (of the
data draw's when the draws change the test set), drawn for scale, as docs/science.md §6 asks.
"""

from __future__ import annotations

import math
from typing import Any

from sweepd.analysis.models import Comparison, VarianceComponent, VarianceDecomposition
from sweepd.analysis.variance_sweep import FACTOR_WORDS
from sweepd.spec import SweepSpec

__all__ = ["page_card", "variance_card"]

WIDTH, LABEL_W, VALUE_W = 640, 190, 120  # view box width, label column, value text column
ROW_H, TOP, AXIS_H = 30, 8, 34           # one bar's row, top margin, the axis below the bars
SHORT = {"init": "init seed", "order": "data order", "data": "data draw"}
LEVELS = {"init": "init seeds", "order": "order seeds", "data": "data draws"}  # as page_card
COLORS = {"init": "#0072B2", "order": "#E69F00", "data": "#009E73", "interaction": "#8C96A8",
          "residual": "#5d6675", "noise": "#c8ccd4"}
WORDS = {**FACTOR_WORDS, "residual": "the trials' own noise (the interaction of every factor)"}
ORDER_NOTE = "variance: without order_seeds"  # the comparison's note (sweepd.comparisons)


def page_card(spec: SweepSpec) -> dict[str, Any]:
    """Whether the sweep page shows the card, and the crossing in words.

    Returns:
        `shown` (the spec crosses the init seed with order seeds or data draws, each over two
        levels or more), `crossing` ("10 init seeds × 10 data draws") and `why` (when not shown).
    """
    levels = [(LEVELS["init"], spec.n_seeds), (LEVELS["order"], spec.n_order_seeds),
              (LEVELS["data"], spec.n_data_seeds)]
    crossed = [(name, n) for name, n in levels if n > 1]
    shown = spec.n_seeds > 1 and len(crossed) >= 2
    return {"shown": shown, "crossing": " × ".join(f"{n} {name}" for name, n in crossed),
            "why": None if shown else (
                "This sweep crosses fewer than two random factors (give order_seeds or "
                "data_seeds beside two seeds or more), so there is no spread to decompose.")}


def variance_card(comparison: Comparison) -> dict[str, Any]:
    """What the card draws: a sentence, the bars, the axis and the method.

    Returns:
        `decomposed` False and `reason` when the comparison has no decomposition; else
        `sentence`, `bars` (each with its numbers in the metric's units and its place in the
        view box), `ticks`, `width`, `height`, `unit`, `method`, `design` and `notes`.
    """
    v = comparison.variance
    if v is None:
        return {"decomposed": False, "reason": (
            "No decomposition yet: it needs every combination of at least two levels of two "
            f"crossed factors finished ({comparison.n_finished} of {comparison.n_total} trials "
            "have).")}
    scale, unit = (100.0, "pp") if "accuracy" in v.metric else (1.0, "")
    order_in_init = "order" not in v.factors and any(n.startswith(ORDER_NOTE)
                                                      for n in comparison.notes)
    rows = [_component(c, v, scale, order_in_init) for c in v.components]
    if v.test_noise is not None:
        rows.append(_noise(v, scale, comparison.n_eval))
    top = max([r["sd_high"] for r in rows] + [r["sd"] for r in rows])
    axis_max, step = _axis(top)
    bars = [_place(r, i, axis_max, unit) for i, r in enumerate(rows)]
    height = TOP + ROW_H * len(bars) + AXIS_H
    return {"decomposed": True, "sentence": sentence(v), "bars": bars, "unit": unit,
            "ticks": _ticks(axis_max, step, unit, height), "width": WIDTH, "height": height,
            "axis_y": height - AXIS_H + 4, "plot_x": [LABEL_W, WIDTH - VALUE_W],
            "method": _method(v), "design": _design(v),
            "notes": _notes(v, order_in_init, comparison.n_eval)}


def sentence(v: VarianceDecomposition) -> str:
    """ "Most of the spread in test accuracy comes from the data draw (52 %)." and, when the
    runner-up's interval overlaps, that the order of the two is not settled."""
    if v.largest is None:
        return "The runs do not spread at all over the crossed factors."
    ranked = sorted(v.components, key=lambda c: c.variance, reverse=True)
    first = ranked[0]
    text = (f"Most of the spread in {metric_words(v.metric)} comes from {_words(first.name)} "
            f"({round(100 * (first.share or 0))} %).")
    if len(ranked) > 1 and ranked[1].variance > 0 and first.ci_low < ranked[1].ci_high:
        text += (f" Its interval overlaps that of {_words(ranked[1].name)}, so which of the two "
                 "is larger is not settled.")
    return text


def metric_words(metric: str) -> str:
    """ "test_accuracy_tail" → "test accuracy"."""
    return metric.removesuffix("_tail").replace("_", " ")


def _words(name: str) -> str:
    if name in WORDS:
        return WORDS[name]
    return "the interaction of " + " and ".join(WORDS.get(f.strip(), f.strip())
                                                for f in name.split("×"))


def _component(c: VarianceComponent, v: VarianceDecomposition, scale: float,
               order_in_init: bool) -> dict[str, Any]:
    kind = (c.name if c.name in SHORT else "residual" if c.name == "residual"
            else "interaction")
    label = (SHORT[c.name] if c.name in SHORT else
             " × ".join(v.factors) + " + noise" if c.name == "residual" else c.name)
    if c.name == "init" and order_in_init:
        label = "init seed (and order)"
    share = None if c.share is None else round(100 * c.share)
    return {"name": c.name, "label": label, "kind": kind, "color": COLORS[kind],
            "sd": c.sd * scale, "sd_low": c.sd_ci_low * scale, "sd_high": c.sd_ci_high * scale,
            "variance": c.variance, "ci_low": c.ci_low, "ci_high": c.ci_high, "share": share,
            "df": c.df, "title": f"{_words(c.name)}: {c.df} degrees of freedom"}


def _noise(v: VarianceDecomposition, scale: float, n_eval: int) -> dict[str, Any]:
    sd = math.sqrt(v.test_noise or 0.0) * scale
    return {"name": "test-set noise", "label": "test-set noise", "kind": "noise",
            "color": COLORS["noise"], "sd": sd, "sd_low": sd, "sd_high": sd,
            "variance": v.test_noise, "ci_low": None, "ci_high": None, "share": None, "df": None,
            "title": f"p(1 − p)/n on {n_eval} test points: inside the components above"}


def _axis(top: float) -> tuple[float, float]:
    """A round upper end of the axis at or above `top`, and its tick step (1, 2 or 5 × 10^k)."""
    if not top > 0 or not math.isfinite(top):
        return 1.0, 0.25
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(top / step - 1e-9), step


def _x(value: float, axis_max: float) -> float:
    return round(LABEL_W + (WIDTH - VALUE_W - LABEL_W) * min(value, axis_max) / axis_max, 1)


def _place(row: dict[str, Any], i: int, axis_max: float, unit: str) -> dict[str, Any]:
    value = f"{row['sd']:.2g}" + (f" {unit}" if unit else "")
    if row["share"] is not None:
        value += f" · {row['share']} %"
    return {**row, "y": TOP + ROW_H * i, "h": ROW_H - 10, "x0": LABEL_W,
            "x": _x(row["sd"], axis_max), "lo": _x(row["sd_low"], axis_max),
            "hi": _x(row["sd_high"], axis_max), "value": value,
            "whisker": row["kind"] != "noise"}


def _ticks(axis_max: float, step: float, unit: str, height: int) -> list[dict[str, Any]]:
    n = round(axis_max / step)
    return [{"x": _x(k * step, axis_max), "y": height - AXIS_H + 16,
             "text": f"{k * step:g}" + (f" {unit}" if unit and k == n else "")}
            for k in range(n + 1)]


def _method(v: VarianceDecomposition) -> str:
    return (f"Bars: σ each term adds, with its {round(100 * v.level)} % CI. "
            f"Estimator: {v.estimator}.")


def _design(v: VarianceDecomposition) -> str:
    levels = " × ".join(f"{v.levels[f]} {LEVELS.get(f, f)}" for f in v.factors)
    arms = (f", pooled within {v.n_arms} arms (initializers × grid points)" if v.n_arms > 1
            else "")
    return f"{levels}{arms}: {v.n_trials} trials, one per combination."


def _notes(v: VarianceDecomposition, order_in_init: bool, n_eval: int) -> list[str]:
    notes = []
    if order_in_init:
        notes.append("Without order_seeds each seed also draws the minibatch order, so the "
                     "init seed's bar includes the data order's spread.")
    if v.test_noise is not None:
        notes.append(f"Test-set noise: the binomial σ of an accuracy on {n_eval} test points, "
                     "√(p(1 − p)/n). It is not a separate term: it sits inside the bars above "
                     "(in the data draw's when the draws change the test set), drawn for scale.")
    return notes
