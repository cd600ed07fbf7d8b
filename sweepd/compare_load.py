"""What a comparison reads from the store, and how its sample is stated (issue 19).

`load` reads the keys of every trial, chooses the trials to analyse (all of them, or a seeded
sample above `sweepd.compare_sample.SAMPLE_THRESHOLD`; an adaptive sweep, whose rule reads every
trial's value, always all), and reads only those trials' rows and final weights. `stamp` puts
the sweep's exact counts and the sample back on the merged comparison. A reader without the
comparison reads (`trial_keys`, `compare_trials`) is read the old way, in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sweepd import weights
from sweepd.compare_sample import Chosen, CompareSample, TrialKey, choose, note
from sweepd.ports import ResultReader
from sweepd.records import SweepRecord, TrialRecord
from sweepd.spec import SweepSpec
from sweepd.states import FINAL_TRIAL_STATES


@dataclass(frozen=True)
class Loaded:
    trials: list[TrialRecord]  # the trials analysed (all, or the sample's), in id order
    weights: dict[int, Any]  # final weights (unpacked) of the analysed trials with a result
    n_total: int  # the sweep's counts, exact whatever the sample
    n_finished: int
    n_with_result: int
    sample: CompareSample | None


def load(store: ResultReader, owner_id: int, sweep: SweepRecord) -> Loaded:
    """The trials a comparison of `sweep` analyses, with their weights and the exact counts.

    Raises:
        NotFound: no such sweep, or not the owner's.
    """
    keys_of = getattr(store, "trial_keys", None)
    if keys_of is None:
        return _load_in_full(store, owner_id, sweep)
    keys: list[TrialKey] = keys_of(owner_id, sweep.id)
    # An adaptive sweep's rule reads every trial's value from its comparison: never sampled.
    adaptive = SweepSpec.stored(sweep.spec).adaptive is not None
    chosen = Chosen(None, None) if adaptive else choose(keys)
    rows = store.compare_trials(owner_id, sweep.id, chosen.ids)  # type: ignore[attr-defined]
    return Loaded(
        trials=[t for t, _ in rows],
        weights={t.id: weights.unpack(blob) for t, blob in rows if blob is not None},
        n_total=sweep.n_trials, n_finished=sum(k.finished for k in keys),
        n_with_result=sum(k.has_result for k in keys), sample=chosen.sample)


def _load_in_full(store: ResultReader, owner_id: int, sweep: SweepRecord) -> Loaded:
    finished = store.sweep_results(owner_id, sweep.id)
    trials, _ = store.list_trials(owner_id, sweep.id, limit=sweep.n_trials, offset=0)
    return Loaded(trials=trials, weights={t.id: weights.unpack(blob) for t, blob in finished},
                  n_total=sweep.n_trials,
                  n_finished=sum(t.state in FINAL_TRIAL_STATES for t in trials),
                  n_with_result=sum(t.result is not None for t in trials), sample=None)


def stamp(comparison: Any, loaded: Loaded) -> Any:
    """The merged comparison with the sweep's exact counts, its sample and a note on it;
    unchanged when every trial was analysed."""
    sample = loaded.sample
    if sample is None:
        return comparison
    partial = loaded.n_finished < loaded.n_total
    notes = [n for n in comparison.notes if not n.startswith("partial:")]
    lead = [note(sample)]
    if partial:
        lead.append(f"partial: {loaded.n_finished} of {loaded.n_total} trials have finished; "
                    f"the figures cover the sample's trials with a result")
    return comparison.model_copy(update={
        "n_total": loaded.n_total, "n_finished": loaded.n_finished,
        "n_with_result": loaded.n_with_result, "partial": partial, "sample": sample,
        "notes": lead + notes})
