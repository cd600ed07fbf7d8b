"""The comparison of plugin models (issue 18, item 4): a network and a randomly permuted copy of
itself align to distance 0 and barrier 0 through the sweep and pair comparisons, for a
3-hidden-layer MLP plugin (ReLU: permutations; tanh: permutations and sign flips) and for the
CNN; two different runs align closer than raw; the cost bound samples and says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweepd import datasets, models_registry, weights
from sweepd.analysis.compare import compare_sweep
from sweepd.analysis.plugin_compare import MAX_MACS, MAX_ROWS, MIN_ROWS, budget
from sweepd.analysis.plugin_matching import transform
from sweepd.analysis.plugin_net import plugin_net
from sweepd.analysis.plugin_pair import compare_plugin_pair
from sweepd.spec import SweepSpec

DIGITS = {"name": "digits", "standardize": True, "test_fraction": 0.2, "seed": 0}
MOONS = {"name": "moons", "n_samples": 300, "test_fraction": 0.3}
CASES = {
    "cnn": (DIGITS, {"plugin": "sweepd.cnn", "params": {"channels": [5, 7]}}),
    "cnn_tanh": (DIGITS, {"plugin": "sweepd.cnn",
                          "params": {"channels": [5, 7], "activation": "tanh"}}),
    "mlp3_relu": (MOONS, {"plugin": "test.deep_relu", "params": {}}),
    "mlp3_tanh": (MOONS, {"plugin": "test.deep_tanh", "params": {}}),
}
NO_SPEC = (MOONS, {"plugin": "test.no_spec", "params": {}})


@pytest.fixture(autouse=True)
def deep_mlps(monkeypatch):
    """The MLP plugin under other names, so the generic engine trains 3-hidden-layer MLPs (the
    built-in name goes to the fast engine and the built-in comparison)."""
    from sweepd.model_plugins import MLPParams, build_mlp, mlp_permutation

    class Deep(models_registry.PluginParams):
        pass

    monkeypatch.setitem(models_registry._loaded, "test.no_spec", models_registry.ModelPlugin(
        description="no permutation spec", params=Deep,
        build=lambda shape, n, **_: build_mlp(shape, n, hidden=[6, 5], activation="relu")))
    for activation in ("relu", "tanh"):
        monkeypatch.setitem(models_registry._loaded, f"test.deep_{activation}",
                            models_registry.ModelPlugin(
                                description="deep", params=Deep,
                                build=lambda shape, n, a=activation, **_: build_mlp(
                                    shape, n, hidden=[6, 5, 4], activation=a),
                                permutation=lambda _p: mlp_permutation(
                                    MLPParams(hidden=[6, 5, 4]))))


def _trained(case, seeds=2, steps=40, lr=0.01):
    """(the first trial, each seed's trained weights as stored, the data): full-batch Adam in a
    plain torch loop, independent of the engines."""
    dataset, model = CASES.get(case, NO_SPEC)
    spec = SweepSpec.model_validate({
        "name": "m", "dataset": dataset, "model": model,
        "seeds": {"start": 0, "count": seeds}, "initializers": ["he_normal"]})
    trial = spec.trials()[0]
    data = datasets.load(trial.dataset)
    net = plugin_net(trial.model, data.n_features, data.n_classes, "auto")
    x = torch.tensor(data.x_train[:256])  # a few hundred points suffice to move the nets
    y = torch.tensor(data.y_train[:256])
    out = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        module = models_registry.build(trial.model.plugin, dict(trial.model.params),
                                       (data.n_features,), net.n_out).double()
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            z = module(x)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.double())
                    if net.n_out == 1 else torch.nn.functional.cross_entropy(z, y))
            loss.backward()
            optimizer.step()
        params = {n: p.detach().numpy().copy() for n, p in module.named_parameters()}
        out.append(_stored(trial, data, params))
    return trial, out, data


def _end_loss(net, params, data):
    return net.line(params, params, data.x_train[:256], data.y_train[:256], [1.0], "auto").loss[0]


def _records(build, blobs):
    """Trial records, one per net (seeds 0, 1, ...), and the nets by trial id."""
    records = [build.trial(i + 1, seed=i, label="he_normal", accuracy=0.9,
                           curve=[1.0] + [0.3] * 40) for i in range(len(blobs))]
    return records, {i + 1: b for i, b in enumerate(blobs)}


def _stored(trial, data, params):
    """Torch-layout params back in the stored scheme (a Linear stack: the Keras layout)."""
    net = plugin_net(trial.model, data.n_features, data.n_classes, "auto")
    if net.stack is None:
        return {k: v.astype(np.float32) for k, v in params.items()}
    pairs = [(params[f"{n}.weight"].T, params[f"{n}.bias"]) for n in net.stack]
    return weights.from_layers([(k.astype(np.float32), b.astype(np.float32)) for k, b in pairs])


def _shuffled(trial, data, stored, seed=1):
    """A randomly permuted (sign-flipped when the net is odd) copy of a net, and the net."""
    net = plugin_net(trial.model, data.n_features, data.n_classes, "auto")
    params = net.params(stored, 0)
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(w) for w in net.widths]
    signs = [rng.choice([-1.0, 1.0], w) if net.odd else np.ones(w) for w in net.widths]
    return net, params, transform(params, net.groups, perms, signs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_net_and_its_permuted_copy_are_one_solution_at_distance_0_and_barrier_0(case, build):
    trial, (stored,), data = _trained(case, seeds=1)
    net, params, shuffled = _shuffled(trial, data, stored)
    assert net.odd == case.endswith("tanh")
    raw_line = net.line(params, shuffled, data.x_train[:256], data.y_train[:256], [0.5], "auto")
    assert abs(raw_line.loss[0] - _end_loss(net, params, data)) > 1e-3  # another function midway
    records, blobs = _records(build, [stored, _stored(trial, data, shuffled)])
    comparison = compare_sweep(records, blobs, trial.model, data, n_boot=200)
    s = comparison.groups[0].solutions
    assert s.mean_raw_distance > 1
    assert s.mean_aligned_distance == pytest.approx(0, abs=1e-5)
    assert s.n_solutions == 1 and s.exact is False
    fn = s.function
    assert fn.n_barrier_pairs == 1 and fn.barrier_raw >= 0
    assert fn.barrier_aligned == pytest.approx(0, abs=1e-9)
    assert fn.disagreement == 0 and fn.mean_abs_dp < 1e-6
    assert len(fn.cka_layers) == 3 if case.startswith("mlp3") else len(fn.cka_layers) == 2
    assert all(c == pytest.approx(1, abs=1e-9) for c in fn.cka_layers)
    assert comparison.groups[0].hidden == net.widths
    assert any("weight matching" in n for n in comparison.notes)
    assert comparison.verdict is not None
    comparison.tables()  # the flat tables hold a plugin comparison too

    pair = compare_plugin_pair(records[0], blobs[1], records[1], blobs[2], trial.model, data,
                               alphas=np.linspace(0, 1, 5))
    assert pair.raw_distance > 1 and pair.aligned_distance == pytest.approx(0, abs=1e-5)
    raw, aligned = np.array(pair.barrier_raw.loss), np.array(pair.barrier_aligned.loss)
    assert np.ptp(raw) > 1e-3  # the straight line between them leaves the solution ...
    assert np.ptp(aligned) < 1e-9  # ... and after alignment it stays on it: barrier 0
    assert pair.barrier_aligned.barrier == pytest.approx(0, abs=1e-9)
    assert pair.disagreement == 0 and all(c == pytest.approx(1, abs=1e-9) for c in pair.cka)
    flips = [s for signs in pair.signs for s in signs]
    assert (-1 in flips) == case.endswith("tanh")  # sign flips only where the net is odd


@pytest.mark.parametrize("case", ["cnn", "mlp3_tanh"])
def test_two_runs_align_closer_than_raw_with_a_lower_aligned_barrier(case, build):
    trial, nets, data = _trained(case, seeds=3, steps=30)
    records, blobs = _records(build, nets)
    comparison = compare_sweep(records, blobs, trial.model, data, n_boot=200)
    s = comparison.groups[0].solutions
    assert 0 < s.mean_aligned_distance < s.mean_raw_distance
    assert s.function.n_pairs == 3 and s.function.n_barrier_pairs == 3
    assert s.function.barrier_aligned <= s.function.barrier_raw
    assert [d.effective_units for d in comparison.groups[0].trials] == [
        comparison.groups[0].hidden] * 3


def test_zeros_on_the_cnn_is_diagnosed_as_a_symmetry_that_never_breaks(build):
    trial, (stored,), data = _trained("cnn", seeds=1, steps=1)
    zeros = {k: np.zeros_like(v) for k, v in stored.items()}
    records, blobs = _records(build, [zeros, dict(zeros)])
    group = compare_sweep(records, blobs, trial.model, data, n_boot=200).groups[0]
    assert group.failures.symmetry_never_broken == 2 and group.failures.dead_units == 2
    assert all(d.effective_units == [0, 0] and d.dead_units == 12 for d in group.trials)


def test_the_cost_bound_samples_runs_and_points_and_says_so(build):
    trial, nets, data = _trained("cnn", seeds=3, steps=10)
    net = plugin_net(trial.model, data.n_features, data.n_classes, "auto")
    small, big = budget(net, 3, None, None), budget(net, 500, None, None)
    assert small.macs <= MAX_MACS and MIN_ROWS < small.line_rows <= small.rows == MAX_ROWS
    assert big.rows == MIN_ROWS < small.rows  # more runs: fewer points each, down to a floor
    assert budget(net, 500, None, 10 * big.pair_cost).pairs == 10
    records, blobs = _records(build, nets)
    comparison = compare_sweep(records, blobs, trial.model, data, n_boot=200, max_pairs=1)
    s = comparison.groups[0].solutions
    assert (s.n_trials, s.n_left_out) == (2, 1)
    assert s.function.n_pairs == 1 and not s.function.sampled
    assert any(n.startswith("sampled: solutions are clustered") for n in comparison.notes)
    assert any(n.startswith("sampled (cost bound)") for n in comparison.notes)


def test_a_model_without_a_permutation_spec_is_compared_by_function_with_raw_distances(build):
    trial, nets, data = _trained("no_spec", seeds=3, steps=30)
    records, blobs = _records(build, nets)
    comparison = compare_sweep(records, blobs, trial.model, data, n_boot=200)
    s = comparison.groups[0].solutions
    assert s.mean_aligned_distance == s.mean_raw_distance > 0 and s.distinct is None
    fn = s.function
    assert fn.n_pairs == 3 and fn.barrier_raw is not None and fn.barrier_aligned is None
    assert len(fn.cka_layers) == 2 and all(0 < c <= 1 for c in fn.cka_layers)
    assert comparison.groups[0].hidden == [6, 5]
    assert any("has no permutation spec" in n for n in comparison.notes)
    pair = compare_plugin_pair(records[0], blobs[1], records[1], blobs[2], trial.model, data)
    assert pair.aligned_distance == pair.raw_distance and pair.permutations == []
