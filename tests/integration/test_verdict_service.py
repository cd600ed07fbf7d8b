"""The verdict end to end on the seed example (issue 11): moons n=5000 noise 0.2, 2-4-1 tanh,
full-batch GD at lr 1.2 for 10 000 steps, 8 seeds × all 16 initializers, through the service,
the REST API, the SDK and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from sweepd.examples import seed_example

pytestmark = pytest.mark.ray

DEGENERATE = {"zeros", "ones", "constant", "identity"}


@pytest.fixture(scope="module")
def seed_study(tmp_path_factory, ray_address):
    from tests.conftest import finished_sweep

    with finished_sweep(tmp_path_factory.mktemp("verdict"), ray_address,
                        seed_example(steps=10_000, seeds=8)) as (server, client, sweep):
        assert sweep.counts["completed"] == 128
        yield server, client, sweep


def test_verdict_on_the_seed_example_answers_the_question(seed_study):
    _, _, sweep = seed_study
    verdict = sweep.compare().verdict
    (point,) = verdict.points
    # Is it OK? The weights differ by symmetry, plus equally good solutions.
    assert point.is_it_ok.kind == "equally_good_solutions", point.is_it_ok.sentence
    assert "symmetry" in point.is_it_ok.sentence and "equally good" in point.is_it_ok.sentence
    assert all(e.alignment_removes > 0.5 and e.same_function for e in point.is_it_ok.evidence)
    # Which initializer? The four degenerate ones fail, with the reason in words.
    rows = {r.initializer: r for r in point.which_initializer.ranking}
    failed = {name for name, r in rows.items() if r.tier == "failed"}
    assert failed == DEGENERATE
    assert "constant predictor" in rows["zeros"].reason
    assert "stay identical" in rows["ones"].reason and "1 effective unit" in rows["ones"].reason
    assert "2 of 4 hidden units never move" in rows["identity"].reason
    # No random initializer is declared better than another.
    working = [r for name, r in rows.items() if name not in DEGENERATE]
    assert len(working) == 12 and not any(r.tier == "worse" for r in working)
    assert point.which_initializer.recommended[0] in {r.initializer for r in working}
    assert verdict.text.startswith("Yes, it is OK")


def test_rest_compare_returns_the_verdict_first(seed_study):
    server, _, sweep = seed_study
    body = httpx.get(f"{server.url}/api/v1/sweeps/{sweep.id}/compare",
                     headers={"Authorization": f"Bearer {server.token}"}, timeout=120).json()
    assert next(iter(body)) == "verdict"
    assert body["verdict"]["text"].count(". ") <= 10  # a few sentences


def test_cli_compare_prints_the_verdict_in_its_first_15_lines(seed_study):
    server, _, sweep = seed_study
    env = {**os.environ, "SWEEPD_URL": server.url, "SWEEPD_TOKEN": server.token,
           "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-m", "sweepd", "compare", str(sweep.id)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    head = "\n".join(out.stdout.splitlines()[:15])
    for words in ("Is it OK? Yes, it is OK", "Which initializer? Use", "More seeds?",
                  "Failed:", "zeros"):
        assert words in head, out.stdout
    assert "IQM [95 % CI]" in out.stdout
