"""The sweep spec: expansion, stable cell keys, YAML/JSON round trips, and rejected input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from pydantic import ValidationError

from sweepd.spec import MAX_TRIALS_DEFAULT, SweepSpec, TrialSpec, cell_key, resolved_steps

BASE: dict[str, Any] = {
    "name": "moons-seed-study",
    "dataset": {"name": "moons", "n_samples": 5000, "noise": 0.2, "test_fraction": 0.2},
    "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 10000, "loss": "bce"},
    "seeds": {"start": 0, "count": 3},
    "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}, "he_normal"],
    "grid": {"training.learning_rate": [0.1, 1.2]},
    "store": {"initial_weights": True, "curve_every": 100},
}


def _spec(**changes: Any) -> SweepSpec:
    return SweepSpec.model_validate({**BASE, **changes})


def _errors(data: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        SweepSpec.model_validate(data, **kw)
    return info.value.errors()


def test_trials_expands_one_cell_per_seed_initializer_and_grid_point() -> None:
    spec = _spec()
    trials = spec.trials()
    assert len(trials) == spec.n_trials == 3 * 3 * 2
    cells = {(t.seed, t.initializer_label, t.params["training.learning_rate"]) for t in trials}
    assert len(cells) == 18
    assert len({t.cell_key for t in trials}) == 18
    assert {t.training.learning_rate for t in trials} == {0.1, 1.2}
    for t in trials:
        assert t.training.learning_rate == t.params["training.learning_rate"]


def test_trials_share_batch_key_per_grid_point_only() -> None:
    trials = _spec().trials()
    keys = {t.params["training.learning_rate"]: set() for t in trials}
    for t in trials:
        keys[t.params["training.learning_rate"]].add(t.batch_key)
    assert all(len(v) == 1 for v in keys.values())
    assert keys[0.1] != keys[1.2]


def test_trials_are_valid_trial_specs() -> None:
    for trial in _spec().trials():
        assert TrialSpec.model_validate(trial.model_dump()) == trial


def test_trial_for_rebuilds_the_expanded_cell() -> None:
    spec = _spec()
    trial = spec.trials()[7]
    again = spec.trial_for(trial.seed, trial.initializer.model_dump(), trial.params)
    assert again == trial


def test_cell_key_is_stable_across_processes() -> None:
    keys = [t.cell_key for t in _spec().trials()]
    code = textwrap.dedent(f"""
        from sweepd.spec import SweepSpec
        spec = SweepSpec.model_validate_json({json.dumps(BASE)!r})
        print(" ".join(t.cell_key for t in spec.trials()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.split() == keys


def test_cell_key_depends_on_what_the_cell_trains() -> None:
    base = cell_key(0, {"name": "random_normal", "stddev": 0.01}, {})
    assert cell_key(0, {"name": "random_normal", "stddev": 0.01}, {}) == base
    assert cell_key(1, {"name": "random_normal", "stddev": 0.01}, {}) != base
    assert cell_key(0, {"name": "random_normal", "stddev": 0.02}, {}) != base
    assert cell_key(0, {"name": "random_normal", "stddev": 0.01}, {"training.l2": 0.1}) != base


def test_variance_scaling_normal_is_the_same_cell_as_truncated_normal() -> None:
    short = _spec(initializers=[{"name": "variance_scaling", "distribution": "normal"}])
    long = _spec(initializers=[{"name": "variance_scaling",
                                "distribution": "truncated_normal"}])
    assert [t.cell_key for t in short.trials()] == [t.cell_key for t in long.trials()]


def test_yaml_round_trip_keeps_spec_and_cell_keys() -> None:
    spec = _spec(bias_initializer="torch_default")
    again = SweepSpec.from_yaml(spec.to_yaml())
    assert again == spec
    assert [t.cell_key for t in again.trials()] == [t.cell_key for t in spec.trials()]


def test_json_round_trip_keeps_spec() -> None:
    spec = _spec(seeds=[5, 3, 9])
    assert SweepSpec.model_validate_json(spec.model_dump_json()) == spec
    assert spec.seed_values == [5, 3, 9]


def test_from_yaml_rejects_a_non_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        SweepSpec.from_yaml("- just\n- a list\n")


@pytest.mark.parametrize(("change", "field"), [
    ({"initializers": ["glorot_unicorn"]}, ("initializers", 0)),
    ({"initializers": [{"name": "variance_scaling", "scale": 0}]},
     ("initializers", 0, "variance_scaling", "scale")),
    ({"initializers": [{"name": "random_uniform", "minval": 1, "maxval": 0}]},
     ("initializers", 0, "random_uniform")),
    ({"colour": "blue"}, ("colour",)),
    ({"training": {"learning_rate": 0.1, "momentun": 0.9}}, ("training", "momentun")),
    ({"training": {"learning_rate": -1.2}}, ("training", "learning_rate")),
    ({"training": {"learning_rate": float("nan")}}, ("training", "learning_rate")),
    ({"dataset": {"name": "moons", "noise": float("inf")}}, ("dataset", "noise")),
    ({"seeds": []}, ("seeds", "list")),
    ({"seeds": [1, 1]}, ("seeds",)),
    ({"grid": {"training.lr": [0.1]}}, ("grid",)),
    ({"bias_initializer": "identity"}, ("bias_initializer",)),
], ids=["unknown-initializer", "scale-zero", "minval-above-maxval", "unknown-field",
        "unknown-nested-field", "negative-learning-rate", "nan", "inf", "empty-seed-list",
        "repeated-seed", "unknown-grid-axis", "identity-bias"])
def test_bad_spec_raises_validation_error_naming_the_field(change: dict[str, Any],
                                                           field: tuple) -> None:
    errors = _errors({**BASE, **change})
    assert errors[0]["loc"][:len(field)] == field


def test_too_many_trials_is_rejected_with_the_count() -> None:
    data = {**BASE, "seeds": {"count": 20_000}}  # 20 000 × 3 initializers × 2 grid points
    errors = _errors(data)
    assert "120000 trials" in errors[0]["msg"] and "seeds" in errors[0]["msg"]
    assert str(MAX_TRIALS_DEFAULT) in errors[0]["msg"]
    small = _errors({**BASE, "seeds": {"count": 5}}, context={"max_trials": 10})
    assert "over the limit of 10" in small[0]["msg"]


def test_grid_value_is_validated_against_its_field() -> None:
    errors = _errors({**BASE, "grid": {"training.learning_rate": [0.1, -3.0]}})
    assert "training.learning_rate" in errors[0]["msg"]


def test_resolved_steps_from_steps_epochs_or_default() -> None:
    spec = _spec()
    assert resolved_steps(spec.training, 4000) == 10_000
    epochs = spec.training.model_copy(update={"steps": None, "epochs": 3, "optimizer": "sgd",
                                              "batch_size": 64})
    assert resolved_steps(epochs, 4000) == 3 * 63
    neither = spec.training.model_copy(update={"steps": None})
    assert resolved_steps(neither, 4000) == 1000


# ---------------------------------------------------------------------------------------------
# Strict types and duplicate grid values (issue 14, items 5 and 19).
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"training": {"steps": True}}, ("training", "steps")),
    ({"seeds": [True, False]}, ("seeds", "list", 0)),
    ({"training": {"learning_rate": "1"}}, ("training", "learning_rate")),
    ({"training": {"learning_rate": " 1 "}}, ("training", "learning_rate")),
    ({"training": {"learning_rate": True}}, ("training", "learning_rate")),
    ({"training": {"steps": 100.0}}, ("training", "steps")),
    ({"dataset": {"name": "moons", "standardize": "yes"}}, ("dataset", "standardize")),
    ({"dataset": {"name": "moons", "standardize": 1}}, ("dataset", "standardize")),
    ({"dataset": {"name": "moons", "n_samples": "100"}}, ("dataset", "n_samples")),
    ({"seeds": {"start": False, "count": 3}}, ("seeds", "range", "start")),
    ({"store": {"initial_weights": "true"}}, ("store", "initial_weights")),
    ({"max_attempts": "3"}, ("max_attempts",)),
    ({"initializers": [{"name": "constant", "value": "0.5"}]},
     ("initializers", 0, "constant", "value")),
], ids=["steps-true", "seeds-booleans", "lr-string", "lr-padded-string", "lr-true",
        "steps-float", "standardize-yes", "standardize-one", "n-samples-string",
        "seed-start-false", "initial-weights-string", "max-attempts-string",
        "constant-string"])
def test_strict_types_refuse_strings_and_booleans_for_numbers(change: dict[str, Any],
                                                               field: tuple) -> None:
    errors = _errors({**BASE, **change})
    assert errors[0]["loc"][:len(field)] == field


def test_integers_are_accepted_for_floats_and_the_initializer_shorthand_still_works() -> None:
    spec = _spec(training={"learning_rate": 1, "steps": 10}, initializers=["glorot_uniform"])
    assert spec.training.learning_rate == 1.0 and isinstance(spec.training.learning_rate, float)
    assert spec.initializers[0].name == "glorot_uniform"


@pytest.mark.parametrize("values", [
    [1, 1.0], [0.5, 0.50], [1, "1"], [1, "1e0"], [1, " 1 "], [1, "10e-1"], [1, True],
])
def test_grid_refuses_values_that_are_the_same_learning_rate(values: list[Any]) -> None:
    errors = _errors({**BASE, "grid": {"training.learning_rate": values}})
    assert errors[0]["loc"] == ("grid",) or errors[0]["loc"] == ()
    assert "training.learning_rate" in errors[0]["msg"]


def test_grid_duplicates_name_the_axis_and_both_positions() -> None:
    errors = _errors({**BASE, "grid": {"training.learning_rate": [0.1, 1, 1.0]}})
    assert "'training.learning_rate' repeats a value: the values at indices 1 and 2" in errors[0]["msg"]
    hidden = _errors({**BASE, "grid": {"model.hidden": [[4], [8], [4]]}})
    assert "'model.hidden' repeats a value" in hidden[0]["msg"]


def test_grid_of_booleans_is_two_points_and_strings_for_them_are_refused() -> None:
    spec = _spec(grid={"dataset.standardize": [False, True]})
    assert spec.n_grid_points == 2
    errors = _errors({**BASE, "grid": {"dataset.standardize": [False, "yes"]}})
    assert "dataset.standardize" in errors[0]["msg"] and "valid boolean" in errors[0]["msg"]


def test_validation_errors_never_repeat_the_input() -> None:
    secret = "sekrit-" * 1000
    with pytest.raises(ValidationError) as info:
        SweepSpec.model_validate({**BASE, "name": [secret]})
    assert "sekrit" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# YAML 1.2 numbers, the shipped examples and the schema (issue 13, item 10).
# ---------------------------------------------------------------------------------------------


def test_yaml_reads_numbers_and_booleans_as_yaml_1_2() -> None:
    text = ("name: x\ndataset: {name: moons, seed: 010}\ntraining: {learning_rate: 1e-3}\n"
            "seeds: [0]\ninitializers: [zeros]\nmax_attempts: 0x3\n")
    spec = SweepSpec.from_yaml(text)
    assert spec.training.learning_rate == 1e-3  # YAML 1.1: the string "1e-3"
    assert spec.dataset.seed == 10 and spec.max_attempts == 3  # YAML 1.1: 010 is 8
    with pytest.raises(ValidationError) as info:  # YAML 1.1: `yes` is true
        SweepSpec.from_yaml(text.replace("seed: 010", "standardize: yes"))
    assert info.value.errors()[0]["loc"] == ("dataset", "standardize")


def test_yaml_refuses_a_key_written_twice() -> None:
    import yaml

    with pytest.raises(yaml.YAMLError, match="duplicate key 'name'"):
        SweepSpec.from_yaml("name: a\nname: b\n")


def test_shipped_examples_validate() -> None:
    from pathlib import Path

    from sweepd.examples import GRID_REQUEST, QUICK_REQUEST, seed_example
    from sweepd.spec import EXAMPLE

    root = Path(__file__).resolve().parents[2] / "examples"
    assert SweepSpec.from_file(root / "moons.yaml").n_trials == 800
    assert json.loads((root / "spec.json").read_text()) == EXAMPLE == QUICK_REQUEST
    for data in (EXAMPLE, GRID_REQUEST):
        SweepSpec.model_validate(data)
    assert seed_example().n_trials == 8 * 16


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    models = {"SweepSpec": schema, **schema.get("$defs", {})}
    return [(model, name, prop) for model, body in models.items()
            for name, prop in body.get("properties", {}).items()]


def test_every_field_of_the_spec_schema_has_a_description_and_the_example_validates() -> None:
    schema = SweepSpec.model_json_schema()
    fields = _properties(schema)
    assert len(fields) > 60
    missing = [f"{model}.{name}" for model, name, prop in fields if not prop.get("description")]
    assert missing == []
    [example] = schema["examples"]
    assert SweepSpec.model_validate(example).n_trials == 24


def test_grid_sections_are_the_sections_each_trial_trains_with() -> None:
    spec = _spec(grid={"training.learning_rate": [0.1, 1.2], "dataset.seed": [0, 1, 2],
                       "training.l2": [0.0, 0.5]}, seeds=[0], initializers=["zeros"])
    trials = spec.trials()
    assert [(t.dataset, t.model, t.training) for t in trials] == spec.grid_sections()
    assert len({id(d) for d, _, _ in spec.grid_sections()}) == 3  # one object per distinct change
