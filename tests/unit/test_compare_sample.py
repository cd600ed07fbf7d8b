"""The comparison's sample (issue 19): none up to the threshold, else whole pairing keys drawn
by a seeded generator, about the asked size."""

from __future__ import annotations

from collections import Counter

from sweepd.compare_sample import TrialKey, choose


def keys(seeds: int, inits: int = 2, data_draws: int = 1) -> list[TrialKey]:
    out, tid = [], 0
    for seed in range(seeds):
        for draw in range(data_draws):
            for _ in range(inits):
                tid += 1
                out.append(TrialKey(tid, seed, None, draw if data_draws > 1 else None,
                                    tid % 3 == 0, tid % 3 == 0))
    return out


def test_up_to_the_threshold_every_trial_is_analysed():
    chosen = choose(keys(50), threshold=100, size=10)
    assert chosen.ids is None and chosen.sample is None


def test_over_the_threshold_whole_keys_are_drawn_and_stated():
    every = keys(500, inits=3, data_draws=2)  # 3000 trials, 1000 keys
    chosen = choose(every, threshold=1000, size=300, seed=7)
    by_id = {k.id: k for k in every}
    drawn = Counter(by_id[i].pairing for i in chosen.ids)
    assert set(drawn.values()) == {3}  # every initializer of a drawn key
    sample = chosen.sample
    assert (sample.n_trials, sample.n_keys, sample.n_keys_sampled) == (3000, 1000, 100)
    assert sample.n_sampled == len(chosen.ids) == 300 and sample.seed == 7
    assert chosen.ids == sorted(chosen.ids)


def test_the_draw_is_seeded_and_not_the_first_keys():
    every = keys(1000)
    first, again = choose(every, threshold=10, size=100), choose(every, threshold=10, size=100)
    other = choose(every, threshold=10, size=100, seed=1)
    assert first.ids == again.ids and first.ids != other.ids
    assert first.ids != list(range(1, 101))
    seeds = {every[i - 1].seed for i in first.ids}
    assert len(seeds) == 50 and max(seeds) > 500
