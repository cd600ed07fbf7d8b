"""The layer contracts bite (issue 12): the whole domain package is checked, so an
`import sweepd_api` added to any `sweepd` module breaks `lint-imports`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# installed import name -> repository folder (see [tool.setuptools.package-dir])
PACKAGES = {"sweepd": "sweepd", "sweepd_api": "api", "sweepd_workers": "workers",
            "sweepd_migrations": "migrations", "sweepd_service": "service"}


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), str(tree / "pyproject.toml")], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    for name, folder in PACKAGES.items():
        shutil.copytree(ROOT / folder, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_lint_imports_fails_when_a_domain_module_imports_the_api(tmp_path):
    tree = _copy(tmp_path)
    clean = _lint(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    victim = tree / "sweepd" / "weights.py"  # any module, not one on an allowlist
    victim.write_text(victim.read_text() + "\nimport sweepd_api  # noqa: E402,F401\n")
    broken = _lint(tree)
    assert broken.returncode != 0
    assert "sweepd is not allowed to import sweepd_api" in broken.stdout
    assert "sweepd.weights -> sweepd_api" in broken.stdout
