"""What the pages print: a sweep spec in words, and a trial's weights as tables."""

from __future__ import annotations

from typing import Any

from sweepd.spec import SeedRange, SweepSpec, initializer_label
from sweepd.spec_seeds import AdaptiveSeeds

OPTIMIZERS = {"gd": "gradient descent (full batch)", "sgd": "stochastic gradient descent",
              "momentum": "SGD with momentum", "adam": "Adam"}
MAX_LISTED_SEEDS = 12


def describe_spec(spec: SweepSpec, n_features: int | None, n_classes: int | None, *,
                  grown: tuple[int, int] | None = None) -> list[tuple[str, str | list[str]]]:
    """The spec as readable lines; a value is a string or a list of short items.

    Args:
        spec: the sweep's spec.
        n_features: the dataset's input width, when known (the network's first layer).
        n_classes: the dataset's number of classes, when known (the output layer).
        grown: (trials submitted, trials now) when the sweep grew (added seeds, or an
            adaptive sweep's blocks).

    Returns:
        (term, description) pairs in reading order.
    """
    lines: list[tuple[str, str | list[str]]] = [
        ("Dataset", _dataset(spec)),
        ("Network", _network(spec, n_features, n_classes)),
        ("Training", _training(spec)),
        ("Seeds", _seeds(spec)),
        ("Initializers", [initializer_label(i) for i in spec.initializers]),
        ("Biases", initializer_label(spec.bias_initializer) if spec.bias_initializer
         else "zeros (the Keras default)"),
    ]
    if spec.grid:
        lines.append(("Grid", [f"{axis}: {', '.join(map(str, values))}"
                               for axis, values in sorted(spec.grid.items())]))
    lines.append(("Trials", _trials(spec) + (
        f"; grown from {grown[0]} to {grown[1]} trials" if grown else "")))
    lines.append(("Stored", _stored(spec)))
    return lines


def headline(spec: SweepSpec, n_features: int | None, n_classes: int | None) -> str:
    """The spec in one line: `moons · 2 inputs → 4 tanh → 1 sigmoid output · 300 seeds × 5
    initializers`."""
    rule = spec.adaptive
    seeds = f"{rule.initial}–{rule.max} seeds (until decided)" if rule else f"{spec.n_seeds} seeds"
    text = (f"{spec.dataset.name} · {_network(spec, n_features, n_classes)} · {seeds} × "
            f"{len(spec.initializers)} initializers")
    return text + (f" × {spec.n_grid_points} grid points" if spec.grid else "")


def _dataset(spec: SweepSpec) -> str:
    d = spec.dataset
    options = [f"{d.n_samples} samples" if d.n_samples else None,
               f"noise {d.noise:g}" if d.noise is not None else None,
               f"{d.n_classes} classes" if d.n_classes else None,
               f"factor {d.factor:g}" if d.factor is not None else None]
    text = d.name + (f" ({', '.join(o for o in options if o)})" if any(options) else "")
    held = (f"{d.test_fraction:.0%} held out for testing" if d.test_fraction
            else "no test set (accuracy on the training set)")
    return f"{text}; {held}; data seed {d.seed}" + ("; standardized" if d.standardize else "")


def _network(spec: SweepSpec, n_features: int | None, n_classes: int | None) -> str:
    m = spec.model
    inputs = f"{n_features} inputs" if n_features else "inputs"
    hidden = " → ".join(f"{w} {m.activation}" for w in m.hidden)
    output = m.output
    if output == "auto":
        output = "sigmoid" if n_classes in (None, 2) else "softmax"
    units = 1 if output == "sigmoid" else (n_classes or "k")
    return f"{inputs} → {hidden} → {units} {output} output"


def _training(spec: SweepSpec) -> str:
    t = spec.training
    length = f"{t.steps} steps" if t.steps is not None else (
        f"{t.epochs} epochs" if t.epochs is not None else "default length")
    parts = [OPTIMIZERS[t.optimizer], f"learning rate {t.learning_rate:g}", length]
    if t.batch_size:
        parts.append(f"batches of {t.batch_size}")
    if t.optimizer == "momentum":
        parts.append(f"momentum {t.momentum:g}")
    if t.optimizer == "adam":
        parts.append(f"β₁ {t.beta1:g}, β₂ {t.beta2:g}")
    if t.l2:
        parts.append(f"L2 {t.l2:g}")
    parts += [f"loss {t.loss}", t.dtype]
    return ", ".join(parts)


def _seeds(spec: SweepSpec) -> str:
    seeds = spec.seeds
    if isinstance(seeds, AdaptiveSeeds):
        return _adaptive(seeds)
    if isinstance(seeds, SeedRange):
        last = seeds.start + seeds.count - 1
        span = str(seeds.start) if seeds.count == 1 else f"{seeds.start}–{last}"
        return f"{span} ({seeds.count} seed{'s' if seeds.count != 1 else ''})"
    shown = ", ".join(map(str, seeds[:MAX_LISTED_SEEDS]))
    more = f", … ({len(seeds)} seeds)" if len(seeds) > MAX_LISTED_SEEDS else (
        f" ({len(seeds)} seed{'s' if len(seeds) != 1 else ''})")
    return shown + more


def _adaptive(seeds: AdaptiveSeeds) -> str:
    """`adaptive: 10 seeds at first, +10 per block, up to 200 (α = 0.05)`."""
    rule = seeds.adaptive
    level = f"α = {rule.alpha:g}" + (f", ROPE ±{100 * rule.rope:.2g} pp" if rule.rope else "")
    start = f", from seed {seeds.start}" if seeds.start else ""
    return (f"adaptive: {rule.initial} seeds at first, +{rule.step} per block, up to "
            f"{rule.max} ({level}){start}")


def _trials(spec: SweepSpec) -> str:
    text = f"{spec.n_trials} = {spec.n_seeds} seeds × {len(spec.initializers)} initializers"
    if spec.grid:
        text += f" × {spec.n_grid_points} grid points"
    if spec.adaptive is not None:
        text += f" in the first block, at most {spec.max_trials} at the cap"
    return f"{text}; up to {spec.max_attempts} attempts each"


def _stored(spec: SweepSpec) -> str:
    s = spec.store
    initial = "initial and final weights" if s.initial_weights else "final weights"
    return f"{initial}; the training cost every {s.curve_every} steps"



SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
MAX_TABLE_ROWS = 64
MAX_TABLE_COLUMNS = 32


def weight_tables(pairs: list[tuple[Any, Any]], activation: str) -> list[dict[str, Any]]:
    """One table per layer: a column per unit, a row per input (then the bias).

    Args:
        pairs: (kernel (fan_in × fan_out), bias) per layer, hidden layers first.
        activation: the hidden activation, for the titles.

    Returns:
        `title`, `shape`, `columns`, `rows` ([name, values...]) and `truncated` per layer;
        tables are cut to 64 rows and 32 columns (the download has everything).
    """
    tables = []
    for index, (kernel, bias) in enumerate(pairs):
        fan_in, fan_out = kernel.shape
        output = index == len(pairs) - 1
        source = "x" if index == 0 else "h"
        rows = [[f"{source}{str(i + 1).translate(SUBSCRIPTS)}",
                 *map(float, kernel[i, :MAX_TABLE_COLUMNS])]
                for i in range(min(fan_in, MAX_TABLE_ROWS))]
        rows.append(["bias", *map(float, bias[:MAX_TABLE_COLUMNS])])
        tables.append({
            "title": "Output layer" if output else f"Hidden layer {index + 1} ({activation})",
            "shape": f"{fan_in} × {fan_out}",
            "columns": [("output" if fan_out == 1 else f"class {j}") if output
                        else f"unit {j + 1}" for j in range(min(fan_out, MAX_TABLE_COLUMNS))],
            "rows": rows,
            "truncated": fan_in > MAX_TABLE_ROWS or fan_out > MAX_TABLE_COLUMNS,
        })
    return tables
