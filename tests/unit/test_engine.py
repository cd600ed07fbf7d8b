"""The training engine: the seed example, symmetry facts, reproducibility, isolation, maths."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import torch

from sweepd import weights
from sweepd.engine import ENGINE_ID, run_batch
from sweepd.engine.data import MiniBatches, make_generator, stream_seed
from sweepd.engine.heads import make_head
from sweepd.engine.layout import ParamLayout
from sweepd.engine.mlp import ACTIVATIONS, LEAKY_SLOPE, BatchedMLP, Workspace
from sweepd.engine.optimizers import make_optimizer
from sweepd.errors import InvalidSpec
from sweepd.initializers import make
from sweepd.results import TrialResult
from sweepd.spec import SweepSpec, TrainingSpec, TrialSpec

MOONS = {"name": "moons", "n_samples": 5000, "noise": 0.2, "test_fraction": 0.0, "seed": 0}


def _trials(*, dataset: dict | None = None, model: dict | None = None,
            training: dict | None = None, seeds: Any = None,
            initializers: list | None = None, **extra: Any) -> list[TrialSpec]:
    spec = SweepSpec.model_validate({
        "name": "test",
        "dataset": dataset or MOONS,
        "model": model or {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 200, **(training or {})},
        "seeds": seeds if seeds is not None else {"start": 0, "count": 1},
        "initializers": initializers or [{"name": "random_normal", "stddev": 0.01}],
        **extra,
    })
    return spec.trials()


def _hidden_kernel(result: TrialResult) -> np.ndarray:
    return weights.unpack(result.final_weights)["layers.0.kernel"]


# ---------------------------------------------------------------------------------------------
# The seed example (SCIENCE.md §2), five seeds trained as one batch.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_example() -> list[TrialResult]:
    return run_batch(_trials(training={"steps": 10_000}, seeds={"start": 0, "count": 5}))


def test_run_batch_seed_example_reaches_the_noise_floor(seed_example: list[TrialResult]) -> None:
    for result in seed_example:
        assert result.status == "ok"
        assert 0.965 <= result.train_accuracy <= 0.975
        assert 0.077 <= result.train_cost <= 0.087
        assert result.test_cost is None and result.test_accuracy is None  # no test set


def test_run_batch_seed_example_seeds_end_with_different_weights(
        seed_example: list[TrialResult]) -> None:
    a, b = _hidden_kernel(seed_example[0]), _hidden_kernel(seed_example[1])
    assert np.abs(a - b).max() > 0.5


def test_run_batch_records_curve_tail_weights_and_environment(
        seed_example: list[TrialResult]) -> None:
    result = seed_example[0]
    assert result.steps == 10_000 and result.diverged_step is None
    assert len(result.curve) == 10_000 // 100 + 1
    assert result.curve[0] == pytest.approx(math.log(2), abs=1e-3)  # N(0, 0.01²) start
    assert result.curve[-1] == result.train_cost
    assert result.train_cost_tail == pytest.approx(result.train_cost, rel=0.05)
    final = weights.unpack(result.final_weights)
    assert {k: v.shape for k, v in final.items()} == {
        "layers.0.kernel": (2, 4), "layers.0.bias": (4,),
        "layers.1.kernel": (4, 1), "layers.1.bias": (1,)}
    assert final["layers.0.kernel"].dtype == np.float32
    assert weights.sha256(result.final_weights) == result.final_sha256
    initial = weights.unpack(result.initial_weights)
    assert np.array_equal(initial["layers.0.bias"], np.zeros(4, dtype=np.float32))
    env = result.environment
    assert env["engine"] == ENGINE_ID and env["torch"] == torch.__version__
    assert (env["device"], env["dtype"], env["num_threads"]) == ("cpu", "float32", 1)
    assert env["deterministic_algorithms"] is True


def test_run_batch_result_unpickles_without_torch(seed_example: list[TrialResult]) -> None:
    # The dispatcher unpickles every batch's results in the service: torch's version string
    # (a str subclass) made that import torch there and tripled the heap each full garbage
    # collection walks (issue 19).
    code = textwrap.dedent("""
        import pickle, sys
        pickle.loads(sys.stdin.buffer.read())
        print(sorted(m for m in ("torch", "numpy") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(seed_example[:2]),
                          capture_output=True, check=True)
    assert "torch" not in done.stdout.decode(), done.stdout
    assert type(seed_example[0].environment["torch"]) is str


def test_run_batch_initial_weights_come_from_the_init_stream() -> None:
    trial = _trials(seeds=[42], initializers=["he_normal"], training={"steps": 1})[0]
    initial = weights.unpack(run_batch([trial])[0].initial_weights)
    generator = make_generator(42, "init")
    kernel0 = make("he_normal", (2, 4), generator)
    kernel1 = make("he_normal", (4, 1), generator)  # zero biases draw nothing in between
    assert np.array_equal(initial["layers.0.kernel"], kernel0.numpy())
    assert np.array_equal(initial["layers.1.kernel"], kernel1.numpy())


# ---------------------------------------------------------------------------------------------
# Symmetry facts (SCIENCE.md §1).
# ---------------------------------------------------------------------------------------------


def test_run_batch_zeros_with_tanh_is_a_constant_predictor() -> None:
    trial = _trials(dataset={**MOONS, "n_samples": 1000}, initializers=["zeros"])[0]
    result = run_batch([trial])[0]
    assert result.train_cost == pytest.approx(math.log(2), abs=1e-4)
    assert result.train_accuracy == 0.5  # balanced classes, one constant prediction
    final = weights.unpack(result.final_weights)
    assert not final["layers.0.kernel"].any() and not final["layers.1.kernel"].any()


def test_run_batch_ones_leaves_hidden_units_identical() -> None:
    trial = _trials(dataset={**MOONS, "n_samples": 1000}, initializers=["ones"])[0]
    final = weights.unpack(run_batch([trial])[0].final_weights)
    kernel, bias, out = final["layers.0.kernel"], final["layers.0.bias"], final["layers.1.kernel"]
    assert not np.array_equal(kernel, np.ones_like(kernel))  # it did train
    assert (kernel == kernel[:, :1]).all() and (bias == bias[0]).all() and (out == out[0]).all()


# ---------------------------------------------------------------------------------------------
# Reproducibility: rerun, K-invariance, another process.
# ---------------------------------------------------------------------------------------------


def test_run_batch_rerun_is_bitwise_identical() -> None:
    trials = _trials(seeds={"start": 0, "count": 3}, initializers=["glorot_uniform"])
    first, again = run_batch(trials), run_batch(trials)
    assert [r.final_sha256 for r in first] == [r.final_sha256 for r in again]
    assert [r.curve for r in first] == [r.curve for r in again]


@pytest.mark.parametrize(("dataset", "model", "training"), [
    (MOONS, None, {"steps": 300}),
    ({"name": "wine", "standardize": True}, {"hidden": [5, 3], "activation": "gelu"},
     {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 37, "steps": 120}),
], ids=["seed-example-gd", "wine-gelu-adam-minibatch"])
def test_run_batch_trial_result_does_not_depend_on_k_or_position(
        dataset: dict, model: dict | None, training: dict) -> None:
    trials = _trials(dataset=dataset, model=model, training=training,
                     seeds={"start": 0, "count": 32}, initializers=["glorot_uniform"])
    alone = run_batch([trials[3]])[0]
    in_eight = run_batch(trials[:8])[3]
    in_all = run_batch(trials)[3]
    for other in (in_eight, in_all):
        assert other.final_sha256 == alone.final_sha256
        assert other.curve == alone.curve
        assert other.train_cost_tail == alone.train_cost_tail
        assert other.test_cost == alone.test_cost


def test_run_batch_second_process_gives_same_weights() -> None:
    spec = {"name": "test", "dataset": {"name": "moons", "n_samples": 500, "seed": 2},
            "model": {"hidden": [4]}, "training": {"learning_rate": 0.5, "steps": 300},
            "seeds": [7, 8], "initializers": ["lecun_normal"]}
    code = textwrap.dedent(f"""
        from sweepd.engine import run_batch
        from sweepd.spec import SweepSpec
        trials = SweepSpec.model_validate_json({json.dumps(spec)!r}).trials()
        print(" ".join(r.final_sha256 for r in run_batch(trials)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    here = run_batch(SweepSpec.model_validate(spec).trials())
    assert out.stdout.split() == [r.final_sha256 for r in here]


def test_run_batch_restores_torch_settings() -> None:
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    run_batch(_trials(training={"steps": 2}))
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


# ---------------------------------------------------------------------------------------------
# Divergence isolation, streams, batch checks, progress.
# ---------------------------------------------------------------------------------------------


def test_run_batch_divergent_trial_does_not_affect_its_neighbours() -> None:
    trials = _trials(dataset={"name": "moons", "n_samples": 200, "test_fraction": 0.25},
                     model={"hidden": [8, 8], "activation": "linear"},
                     training={"learning_rate": 1.0, "steps": 200},
                     initializers=[{"name": "random_normal", "stddev": 0.1},
                                   {"name": "constant", "value": 10.0}],
                     store={"curve_every": 10})
    together = run_batch(trials)
    alone = run_batch([trials[0]])[0]
    healthy, diverged = together
    assert diverged.status == "diverged"
    assert diverged.diverged_step is not None and 0 < diverged.diverged_step < 200
    assert diverged.steps == diverged.diverged_step
    assert diverged.train_cost is None and diverged.test_accuracy is None
    assert diverged.train_cost_tail is None and diverged.curve[-1] is None
    assert diverged.curve[0] is not None and diverged.curve[1] is None
    final = weights.unpack(diverged.final_weights)
    assert all(np.isfinite(v).all() for v in final.values())  # frozen at the last finite step
    assert healthy.status == "ok" and healthy.final_sha256 == alone.final_sha256
    assert healthy.curve == alone.curve


def test_minibatch_order_depends_on_the_data_stream_only() -> None:
    assert stream_seed(0, "init") != stream_seed(0, "data")
    x = torch.arange(10.0).reshape(1, 10)
    orders = []
    for _ in range(2):
        made: list[Workspace] = []

        def workspace(rows: int, made: list[Workspace] = made) -> Workspace:
            made.append(Workspace(2, rows, [1, 1], ACTIVATIONS["tanh"], dtype=torch.float32,
                                  device=torch.device("cpu")))
            return made[-1]

        batches = MiniBatches(x, x, 4, [make_generator(5, "data"), make_generator(6, "data")],
                              workspace)
        orders.append(torch.cat([batches.batch(s).x.clone() for s in range(3)], dim=2))
    assert torch.equal(orders[0], orders[1])
    expected = torch.randperm(10, generator=make_generator(5, "data")).float()
    assert torch.equal(orders[0][0, 0], expected)
    assert not torch.equal(orders[0][0], orders[0][1])


def test_run_batch_same_seed_under_two_initializers_sees_same_minibatches() -> None:
    # With identical initial points, two initializers that draw the same values must train
    # identically: the data order cannot depend on the initializer.
    trials = _trials(training={"optimizer": "sgd", "batch_size": 64, "steps": 50,
                               "learning_rate": 0.1},
                     dataset={**MOONS, "n_samples": 500},
                     initializers=["glorot_uniform",
                                   {"name": "variance_scaling", "mode": "fan_avg",
                                    "distribution": "uniform"}])
    a, b = run_batch(trials)
    assert a.initial_sha256 == b.initial_sha256
    assert a.final_sha256 == b.final_sha256


def test_run_batch_mixed_batch_keys_raise_value_error() -> None:
    first = _trials()[0]
    other = _trials(training={"learning_rate": 0.5})[0]
    with pytest.raises(ValueError, match="batch_key"):
        run_batch([first, other])
    with pytest.raises(ValueError):
        run_batch([])


def test_run_batch_sigmoid_output_on_three_classes_raises_invalid_spec() -> None:
    trials = _trials(dataset={"name": "iris"}, model={"hidden": [4], "output": "sigmoid"})
    with pytest.raises(InvalidSpec, match="model.output"):
        run_batch(trials)


def test_run_batch_reports_progress_at_the_end() -> None:
    calls: list[tuple[int, int]] = []
    run_batch(_trials(training={"steps": 130}), progress=lambda s, t: calls.append((s, t)))
    assert calls[-1] == (130, 130)


def test_run_batch_float64_and_epochs() -> None:
    trials = _trials(dataset={"name": "iris", "standardize": True}, model={"hidden": [4]},
                     training={"optimizer": "momentum", "learning_rate": 0.1, "steps": None,
                               "epochs": 3, "batch_size": 50, "dtype": "float64", "l2": 1e-3})
    result = run_batch(trials)[0]
    assert result.steps == 3 * math.ceil(120 / 50)
    assert weights.unpack(result.final_weights)["layers.0.kernel"].dtype == np.float64
    assert result.environment["dtype"] == "float64"


# ---------------------------------------------------------------------------------------------
# The maths: manual backprop against autograd, optimizers against torch.optim.
# ---------------------------------------------------------------------------------------------


_ACT = {
    "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, LEAKY_SLOPE),
    "gelu": torch.nn.functional.gelu, "linear": lambda z: z,
}
HEADS = [("sigmoid", "bce"), ("sigmoid", "ce"), ("sigmoid", "mse"), ("softmax", "ce"),
         ("softmax", "mse")]


def _reference_loss(layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                    labels: torch.Tensor, activation: str, output: str,
                    loss: str) -> torch.Tensor:
    """The same model written the ordinary way, for autograd."""
    h = x
    for i, (kernel, bias) in enumerate(layers):
        h = h @ kernel + bias
        if i < len(layers) - 1:
            h = _ACT[activation](h)
    if output == "sigmoid":
        y = labels.to(h.dtype).unsqueeze(1)
        if loss == "mse":
            return (torch.sigmoid(h) - y).square().mean()
        return torch.nn.functional.binary_cross_entropy_with_logits(h, y)
    if loss == "mse":
        onehot = torch.nn.functional.one_hot(labels, h.shape[1]).to(h.dtype)
        return (torch.softmax(h, dim=1) - onehot).square().mean()
    return torch.nn.functional.cross_entropy(h, labels)


@pytest.mark.parametrize(("output", "loss"), HEADS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backward_matches_autograd(activation: str, output: str, loss: str) -> None:
    generator = torch.Generator().manual_seed(0)
    n_classes = 2 if output == "sigmoid" else 3
    head = make_head(output, loss, n_classes)
    widths = [3, 5, 4, head.n_out]
    layout = ParamLayout.for_widths(widths)
    k, rows, dtype = 2, 13, torch.float64
    params = torch.randn(k, layout.width, generator=generator, dtype=dtype)
    net = BatchedMLP(layout, ACTIVATIONS[activation], head, params, torch.zeros_like(params))
    ws = Workspace(k, rows, widths, net.activation, dtype=dtype, device=torch.device("cpu"))
    x = torch.randn(rows, 3, generator=generator, dtype=dtype)
    labels = torch.randint(0, n_classes, (rows,), generator=generator)
    ws.fill(x.T, head.targets(labels, dtype))
    net.forward(ws)
    net.backward(ws)
    for m in range(k):
        layers = [(w[m].clone().requires_grad_(), b[m].clone().requires_grad_())
                  for w, b in zip(layout.kernels(params), layout.biases(params))]
        reference = _reference_loss(layers, x, labels, activation, output, loss)
        assert head.loss(ws)[m].item() == pytest.approx(reference.item(), abs=1e-12)
        reference.backward()
        for (w, b), gw, gb in zip(layers, layout.kernels(net.grads), layout.biases(net.grads)):
            torch.testing.assert_close(gw[m], w.grad, atol=1e-10, rtol=0)
            torch.testing.assert_close(gb[m], b.grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize(("name", "reference"), [
    ("sgd", lambda p, t: torch.optim.SGD([p], lr=t.learning_rate, weight_decay=t.l2)),
    ("momentum", lambda p, t: torch.optim.SGD([p], lr=t.learning_rate, momentum=t.momentum,
                                              weight_decay=t.l2)),
    ("adam", lambda p, t: torch.optim.Adam([p], lr=t.learning_rate, betas=(t.beta1, t.beta2),
                                           eps=t.eps, weight_decay=t.l2)),
])
def test_optimizer_step_equals_torch_optim(name: str, reference: Any) -> None:
    training = TrainingSpec(optimizer=name, learning_rate=0.05, momentum=0.8, beta1=0.85,
                            beta2=0.99, eps=1e-7, l2=0.01, steps=4)
    generator = torch.Generator().manual_seed(1)
    start = torch.randn(3, 32, generator=generator, dtype=torch.float64)
    grads = [torch.randn(3, 32, generator=generator, dtype=torch.float64) for _ in range(4)]
    ours = make_optimizer(training, start.clone())
    theirs_param = start.clone().requires_grad_()
    theirs = reference(theirs_param, training)
    for step, grad in enumerate(grads):
        ours.step(grad.clone(), step)
        theirs_param.grad = grad.clone()
        theirs.step()
        assert torch.equal(ours.params, theirs_param.detach())


def test_run_batch_records_the_batch_behind_each_trials_time():
    from sweepd.examples import seed_example

    trials = seed_example(steps=20, seeds=3, all_initializers=False).trials()
    results = run_batch(trials)
    env = results[0].environment
    assert env["batch_trials"] == len(trials) == 6
    assert results[0].wall_seconds == pytest.approx(env["batch_seconds"] / 6, rel=0.01, abs=1e-3)
