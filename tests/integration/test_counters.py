"""The per-sweep trial counters stay exact under concurrent state changes (issue 19): claims,
results, releases, reaped leases, cancels, pauses and growth, from several threads at once,
on SQLite and PostgreSQL, checked against a full recount of the trials."""

from __future__ import annotations

import random
import threading

from sqlalchemy import func, select

from sweepd.records import ResultItem
from sweepd.schemas import SeedsAdd
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.models import SqlTrial
from tests.integration.api.api_support import fake_result, small_spec


def recount(store, sweep_id: int) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(SqlTrial.state, func.count()).where(
            SqlTrial.sweep_id == sweep_id).group_by(SqlTrial.state))
        found = dict(rows.all())
    return {s: int(found.get(s, 0)) for s in ("pending", "running", "completed", "failed",
                                              "cancelled")}


def test_counters_match_a_recount_after_a_randomized_concurrent_run(store, owner, clock):
    from sweepd import growth

    settings = Settings(max_trials_per_sweep=10_000, max_trials_in_flight_per_user=100_000)
    sweeps = [store.submit_sweep(owner, SweepSpec.model_validate(
        small_spec(f"s{i}", seeds=20, max_attempts=2)))[0].id for i in range(3)]
    errors: list[BaseException] = []
    done = {"claims": 0, "results": 0, "releases": 0, "reaps": 0, "cancels": 0, "grows": 0,
            "pauses": 0}

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        held = []
        try:
            for _ in range(40):
                op = rng.random()
                if op < 0.35:
                    batches = store.claim_trials(holder=f"w{seed}", max_trials=rng.randint(1, 8),
                                                 max_batch=4, lease_seconds=30)
                    held += [t for b in batches for t in b.trials]
                    done["claims"] += bool(batches)
                elif op < 0.6 and held:
                    chosen = [held.pop(rng.randrange(len(held))) for _ in range(min(3, len(held)))]
                    store.record_results([ResultItem(trial_id=t.trial_id, attempt=t.attempt,
                                                     result=fake_result(t), node="n", device="cpu")
                                          for t in chosen])
                    done["results"] += 1
                elif op < 0.7 and held:
                    t = held.pop()
                    store.release_trials([(t.trial_id, t.attempt)], "chaos", isolate=False)
                    done["releases"] += 1
                elif op < 0.78:
                    clock.advance(rng.choice([0, 40]))
                    done["reaps"] += len(store.reap_expired_leases()) > 0
                elif op < 0.86:
                    sweep_id = rng.choice(sweeps)
                    try:
                        growth.add_seeds(store, settings, owner, sweep_id,
                                         SeedsAdd(count=rng.randint(1, 3)))
                        done["grows"] += 1
                    except Exception as exc:  # a cancelled sweep, or a lost race: refused
                        assert type(exc).__name__ == "Conflict", exc
                elif op < 0.93:
                    sweep_id = rng.choice(sweeps)
                    try:
                        (store.pause_sweep if rng.random() < 0.5 else store.resume_sweep)(
                            owner, sweep_id)
                        done["pauses"] += 1
                    except Exception as exc:
                        assert type(exc).__name__ == "Conflict", exc
                elif op < 0.95:
                    store.cancel_sweep(owner, rng.choice(sweeps))
                    done["cancels"] += 1
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert done["claims"] and done["results"] and done["grows"], done  # the faults really fired
    for sweep_id in sweeps:
        record = store.get_sweep(owner, sweep_id)
        assert record.counts == recount(store, sweep_id), (sweep_id, done)
        assert sum(record.counts.values()) == record.n_trials
        assert store.count_in_flight(owner) >= record.counts["pending"] + record.counts["running"]
    # The dispatcher's queue depth is summed from the same counters: it matches a recount of
    # the pending trials of the sweeps it may claim from.
    open_sweeps = [s for s in sweeps if store.get_sweep(owner, s).state not in ("cancelled",
                                                                                 "paused")]
    assert store.count_pending() == sum(recount(store, s)["pending"] for s in open_sweeps)
