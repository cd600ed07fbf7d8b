"""The sweep page's variance card (issue 16, api/web/variance_view.py): its bars carry the
decomposition's numbers in its order, placed in proportion on one axis, and its sentence names
the largest component; the card applies only to specs that cross two random factors."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd.analysis.models import Comparison
from sweepd.analysis.variance import binomial_noise, decompose
from sweepd.spec import SweepSpec
from sweepd_api.web import variance_view
from tests.integration.api.api_support import small_spec


def _outcomes(sd_init: float, sd_data: float, noise: float, seed: int = 0) -> np.ndarray:
    """y[i, d] = 0.9 + a_i + c_d + e_id over 8 init seeds × 8 data draws."""
    rng = np.random.default_rng(seed)
    return (0.9 + rng.normal(0, sd_init, (8, 1)) + rng.normal(0, sd_data, (1, 8))
            + rng.normal(0, noise, (8, 8)))


def _comparison(decomposition, notes=(), n_eval=200) -> Comparison:
    return Comparison.model_construct(variance=decomposition, notes=list(notes), n_eval=n_eval,
                                      n_finished=64, n_total=64)


def test_variance_card_bars_carry_the_decomposition_in_order_and_scale() -> None:
    arms = [_outcomes(0.01, 0.03, 0.005, seed) for seed in (1, 2)]
    v = decompose(arms, ["init", "data"], metric="test_accuracy_tail",
                  test_noise=binomial_noise(float(np.mean(arms)), 200))
    card = variance_view.variance_card(_comparison(v))
    assert card["decomposed"] is True
    components, noise = card["bars"][:-1], card["bars"][-1]
    assert [b["name"] for b in components] == [c.name for c in v.components]
    for bar, c in zip(components, v.components):
        assert bar["sd"] == pytest.approx(100 * c.sd)
        assert (bar["sd_low"], bar["sd_high"]) == pytest.approx((100 * c.sd_ci_low,
                                                                 100 * c.sd_ci_high))
        assert bar["share"] == round(100 * c.share)
        assert bar["lo"] <= bar["x"] <= bar["hi"] and bar["whisker"]
    assert [b["label"] for b in components] == ["init seed", "data draw", "init × data + noise"]
    assert noise["kind"] == "noise" and not noise["whisker"]
    assert noise["sd"] == pytest.approx(100 * np.sqrt(v.test_noise))
    # One linear axis from the label column: widths in proportion to σ, nothing past its end.
    x0, x1 = card["plot_x"]
    top = max(b["sd_high"] for b in card["bars"])
    axis_max = float(card["ticks"][-1]["text"].split()[0])
    assert top <= axis_max < 2.5 * top and card["ticks"][-1]["text"].endswith(" pp")
    for bar in card["bars"]:
        assert bar["x"] - x0 == pytest.approx((x1 - x0) * bar["sd"] / axis_max, abs=0.06)
        assert x0 <= bar["hi"] <= x1
    assert [b["y"] for b in card["bars"]] == sorted(b["y"] for b in card["bars"])
    assert "method of moments" in card["method"] and "95 % CI" in card["method"]
    assert card["design"].startswith("8 init seeds × 8 data draws, pooled within 2 arms")


@pytest.mark.parametrize(("sd_init", "sd_data", "words"), [
    (0.002, 0.04, "the data draw"), (0.04, 0.002, "the initialization")])
def test_variance_card_sentence_names_the_largest_component(sd_init, sd_data, words) -> None:
    v = decompose([_outcomes(sd_init, sd_data, 0.001)], ["init", "data"],
                  metric="test_accuracy_tail")
    card = variance_view.variance_card(_comparison(v))
    largest = max(v.components, key=lambda c: c.variance)
    assert card["sentence"].startswith(
        f"Most of the spread in test accuracy comes from {words} "
        f"({round(100 * largest.share)} %).")
    assert all(b["kind"] != "noise" for b in card["bars"])  # no test noise given: no bar


def test_variance_card_without_order_seeds_says_init_includes_the_order() -> None:
    v = decompose([_outcomes(0.02, 0.02, 0.01)], ["init", "data"], metric="train_cost_tail")
    note = "variance: without order_seeds each seed draws both the initial weights and ..."
    card = variance_view.variance_card(_comparison(v, notes=[note]))
    assert card["bars"][0]["label"] == "init seed (and order)"
    assert any("includes the data order" in n for n in card["notes"])
    assert card["unit"] == "" and card["bars"][0]["sd"] == pytest.approx(v.components[0].sd)


def test_variance_card_without_a_decomposition_says_why() -> None:
    card = variance_view.variance_card(_comparison(None))
    assert card["decomposed"] is False and "64 of 64 trials" in card["reason"]


def test_page_card_is_shown_only_when_two_factors_are_crossed() -> None:
    plain = SweepSpec.model_validate(small_spec(seeds=4))
    crossed = SweepSpec.model_validate(small_spec(seeds=4, data_seeds={"count": 3}))
    one_seed = SweepSpec.model_validate(small_spec(seeds=1, data_seeds={"count": 3}))
    assert not variance_view.page_card(plain)["shown"]
    assert variance_view.page_card(plain)["why"]
    assert not variance_view.page_card(one_seed)["shown"]
    page = variance_view.page_card(crossed)
    assert page["shown"] and page["crossing"] == "4 init seeds × 3 data draws"
