"""Sweeps that grew, built through the store without training, for the page's growth card
(tests/integration/test_growth_web.py and tests/browser/test_growth_page.py).

Trials are finished with hand-built results whose accuracy depends on the initializer (a
little spread over seeds), so the adaptive rule has a known answer: glorot_uniform far ahead of
he_normal and lecun_normal, zeros stuck at chance (the verdict's failed tier).
"""

from __future__ import annotations

from typing import Any

from sweepd.adaptive_driver import advance_adaptive
from sweepd.records import ResultItem
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from tests.integration.api.api_support import fake_result, small_spec

ACCURACY = {"glorot_uniform": 0.95, "he_normal": 0.80, "lecun_normal": 0.79, "zeros": 0.5}
RULE = {"initial": 4, "step": 4, "max": 16}
# Four seeds cannot decide at α/6 per pair, eight neither; twelve all-winning ones do.
DECIDED_SENTENCE = ("Stopped after 3 blocks: glorot_uniform is decidedly better than every "
                    "other working initializer.")
SPEC_SEEDS = "adaptive: 4 seeds at first, +4 per block, up to 16 (α = 0.05)"


def adaptive_spec(name: str = "adaptive-web", **rule: Any) -> SweepSpec:
    return SweepSpec.model_validate(small_spec(
        name, seeds={"adaptive": {**RULE, **rule}}, initializers=list(ACCURACY)))


def finish_by_initializer(store: Store, accuracy: dict[str, float] = ACCURACY) -> int:
    """Claim every pending trial and complete it with its initializer's accuracy."""
    batches = store.claim_trials(holder="growth-web", max_trials=10_000, max_batch=10_000,
                                 lease_seconds=300)
    items = []
    for trial in (t for b in batches for t in b.trials):
        value = accuracy[trial.spec.initializer_label] + 0.005 * (trial.spec.seed * 7 % 5 - 2)
        result = fake_result(trial).model_copy(update={"test_accuracy": value,
                                                       "train_accuracy": value})
        items.append(ResultItem(trial_id=trial.trial_id, attempt=trial.attempt, result=result,
                                node="node-a", device="cpu"))
    fenced = store.record_results(items)
    assert not fenced.rejected
    return len(fenced.accepted)


def run_looks(store: Store, looks: int) -> None:
    """Finish each block and let the rule look, `looks` times."""
    for _ in range(looks):
        finish_by_initializer(store)
        advance_adaptive(store)


def decided_sweep(store: Store, owner: int) -> int:
    """An adaptive sweep that stops after three looks, `decided`. Returns its id."""
    sweep, _ = store.submit_sweep(owner, adaptive_spec())
    run_looks(store, 3)
    done = store.get_sweep(owner, sweep.id)
    assert done.stop_reason == "decided" and done.state == "completed", done
    return sweep.id
