"""Spec files with aliases, size and depth bounded before anything walks them (issue 14, item 17).

The attack: nine aliases of nine aliases, eight deep, is a 460-byte file that stands for 43
million values; validating it was quick, but printing its validation error took 10 s (pydantic
repr'd the whole expansion) and the issue's CLI run took 8.5 s for 459 bytes, over 25 s for 563.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from sweepd import cli
from sweepd.spec import SweepSpec
from sweepd.spec_yaml import MAX_SPEC_BYTES, MAX_SPEC_NODES, SpecYamlError, load_yaml

OFFLINE = ["--url", "http://127.0.0.1:9", "--token", "swd_x"]  # nothing listens there


def alias_bomb(levels: int = 8, field: str = "name") -> str:
    """`field` set to a list whose last item expands to 9**levels strings."""
    anchors = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return (f"dataset: {{name: moons}}\nseeds: [0]\ninitializers: [zeros]\n"
            f"{field}: [{', '.join(anchors)}]\n")


def test_the_bomb_is_small_and_really_expands() -> None:
    text = alias_bomb(4)  # small enough to expand here: 9**4 values
    assert len(alias_bomb()) < 600
    loaded = yaml.safe_load(text)["name"][-1]
    assert sum(len(inner) for mid in loaded for inner_list in mid for inner in inner_list) == 9**4


def test_cli_refuses_the_alias_bomb_with_a_clear_message(tmp_path) -> None:
    spec = tmp_path / "bomb.yaml"
    spec.write_text(alias_bomb())
    out = subprocess.run([sys.executable, "-m", "sweepd", "submit", str(spec), *OFFLINE],
                         capture_output=True, text=True, timeout=120,
                         env={"COLUMNS": "200", "PATH": "/usr/bin"})
    text = out.stdout + out.stderr
    assert out.returncode == cli.EXIT_INVALID, text
    assert f"aliases expand it to more than {MAX_SPEC_NODES} values" in text
    assert "Traceback" not in text and "'x', 'x'" not in text


def test_the_bomb_is_refused_before_validation_wherever_it_sits() -> None:
    for field in ("name", "seeds", "grid", "description"):
        with pytest.raises(SpecYamlError, match="aliases expand"):
            SweepSpec.from_yaml(alias_bomb(field=field))


def test_a_few_aliases_are_still_fine() -> None:
    text = ("name: x\ndataset: {name: moons}\nseeds: &s [0, 1]\ninitializers: [zeros]\n"
            "grid: {dataset.seed: *s}\n")
    assert SweepSpec.from_yaml(text).n_trials == 4


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecYamlError, match="recursive alias"):
        load_yaml("name: &a [*a]\n")


def test_size_and_depth_are_bounded() -> None:
    with pytest.raises(SpecYamlError, match="over the limit"):
        load_yaml("name: " + "x" * MAX_SPEC_BYTES + "\n")
    with pytest.raises(SpecYamlError, match="nests too deeply"):
        load_yaml("[" * 50_000 + "]" * 50_000)


def test_from_file_refuses_a_large_file_by_its_size(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_SPEC_BYTES + 1))
    with pytest.raises(SpecYamlError, match=f"over the limit of {MAX_SPEC_BYTES}"):
        SweepSpec.from_file(big)
