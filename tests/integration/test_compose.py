"""Static validation of the Docker deployment: docker-compose.yml, the GPU override, the images.

No Docker engine runs on the test machines: the files are parsed with PyYAML and checked against
the code they deploy (compose_rules.py). Every rule is shown to fail on a mutated copy, so a
passing check means something.
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration import compose_model as model
from tests.integration import compose_rules as rules
from tests.integration.compose_model import ROOT

BASE = model.load("docker-compose.yml")
GPU_OVERRIDE = model.load("docker-compose.gpu.yml")
TORCH = importlib.metadata.version("torch").split("+")[0]


def gpu_compose() -> dict[str, Any]:
    return model.merge(BASE, GPU_OVERRIDE)


def test_validate_compose_file_without_problems():
    assert rules.problems(BASE) == []


def test_share_one_ray_token_between_nodes_and_api():
    services = BASE["services"]
    tokens = {services[n]["environment"]["RAY_AUTH_TOKEN"] for n in ("ray-head", "ray-worker",
                                                                     "api")}
    assert tokens == {"${RAY_AUTH_TOKEN:?set RAY_AUTH_TOKEN (openssl rand -hex 32) in .env}"}
    assert "RAY_AUTH_TOKEN" not in services["migrate"]["environment"]  # no Ray, no token


def test_validate_gpu_override_without_problems():
    assert rules.problems(gpu_compose(), gpu=True) == []


def test_list_compose_services_as_the_documented_topology():
    assert set(BASE["services"]) == {"postgres", "migrate", "ray-head", "ray-worker", "api"}
    assert set(GPU_OVERRIDE["services"]) <= set(BASE["services"])
    assert {n for n, s in BASE["services"].items() if model.is_sweepd_service(s)} == {
        "migrate", "ray-head", "ray-worker", "api"}


def test_merge_gpu_override_keeping_base_commands():
    merged = gpu_compose()["services"]
    assert merged["ray-worker"]["command"] == BASE["services"]["ray-worker"]["command"]
    assert merged["api"]["environment"]["SWEEPD_TASK_GPUS"] == "${SWEEPD_TASK_GPUS:-auto}"
    assert merged["api"]["environment"]["SWEEPD_PORT"] == "8642"
    assert {s["build"]["dockerfile"] for n, s in merged.items() if n != "postgres"} == {
        "Dockerfile.gpu"}


def test_interpolate_database_url_only_with_password_from_environment():
    raw = BASE["services"]["migrate"]["environment"]["SWEEPD_DATABASE_URL"]
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        model.interpolate(raw, {}, strict=True)
    url = model.interpolate(raw, {"POSTGRES_PASSWORD": "s3cr3t"}, strict=True)
    assert url == "postgresql://sweepd:s3cr3t@postgres:5432/sweepd"


def test_check_command_lines_against_both_clis():
    assert model.argv_problem(["sweepd", "token", "create", "t", "--user", "u", "--admin"]) is None
    assert model.argv_problem(["sweepd", "serve", "--no-dispatcher", "--port", "1"]) is None
    assert "unknown option" in model.argv_problem(["sweepd", "serve", "--workers", "2"])
    assert "missing" in model.argv_problem(["sweepd", "token", "create"])
    assert "unknown option" in model.argv_problem(["ray", "start", "--num-cpu=1"])
    assert "neither" in model.argv_problem(["uvicorn", "api:app"])


def test_validate_dockerfiles_and_build_context_without_problems():
    for name in ("Dockerfile", "Dockerfile.gpu"):
        assert rules.dockerfile_problems((ROOT / name).read_text(), torch_version=TORCH) == []
    assert rules.dockerignore_problems((ROOT / ".dockerignore").read_text()) == []
    assert rules.base_image((ROOT / "Dockerfile").read_text()) == rules.CPU_BASE
    assert rules.CUDA_BASE.match(rules.base_image((ROOT / "Dockerfile.gpu").read_text()))


def _copied_sources(dockerfile: str) -> list[str]:
    return [w for line in dockerfile.splitlines() if line.split()[:1] == ["COPY"]
            and "--from" not in line for w in line.split()[1:-1]]


def _needed_at_run_time(path) -> bool:
    """Code, the Alembic environment and the web page's templates and static assets."""
    parts = path.relative_to(ROOT).parts
    if not path.is_file() or "__pycache__" in parts:
        return False
    return path.suffix == ".py" or parts[0] == "migrations" or (
        parts[0] == "api" and parts[1:2] in (("templates",), ("static",)))


def test_build_wheel_from_image_build_context_with_every_package_file(tmp_path):
    """What the image installs: a wheel built from only the files the Dockerfile copies."""
    context = tmp_path / "context"
    context.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for source in _copied_sources((ROOT / "Dockerfile").read_text()):
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, context / source, ignore=ignore)
        else:
            shutil.copy2(ROOT / source, context / source)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(context)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("sweepd-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = {_installed(p.relative_to(ROOT).as_posix()) for package in rules.project_packages()
              for p in (ROOT / package).rglob("*") if _needed_at_run_time(p)}
    assert "sweepd_migrations/versions/0001_initial.py" in needed
    assert needed <= shipped, sorted(needed - shipped)


def _installed(path: str) -> str:
    """Where a repository file lands in the wheel: api/app.py → sweepd_api/app.py."""
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    package = {folder: name for name, folder in folders.items()}
    top, _, rest = path.partition("/")
    return f"{package.get(top, top)}/{rest}"


# -- every rule can fail ---------------------------------------------------------------------


def _svc(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _set(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: _svc(c, name).__setitem__(key, value)


def _env(name: str, key: str, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: _svc(c, name)["environment"].__setitem__(key, value)


def _drop(name: str, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: _svc(c, name).pop(key)


def _worker_address(address: str) -> Callable[[dict[str, Any]], None]:
    return _set("ray-worker", "command", ["ray", "start", f"--address={address}", "--block"])


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown-subcommand": (_set("migrate", "command", ["sweepd", "upgrade"]),
                           "entry-point: migrate"),
    "unknown-ray-option": (_set("ray-worker", "command", ["ray", "start", "--num-cpu=2"]),
                           "entry-point: ray-worker"),
    "not-an-entry-point": (_set("migrate", "command", ["alembic", "upgrade", "head"]),
                           "entry-point: migrate"),
    "no-command": (_drop("migrate", "command"), "entry-point: migrate has no command"),
    "unknown-setting": (_env("api", "SWEEPD_WORKERS", "4"), "setting: api: SWEEPD_WORKERS"),
    "invalid-setting": (_env("api", "SWEEPD_TASK_CPUS", "many"), "setting: api: invalid"),
    "hard-coded-password": (_env("postgres", "POSTGRES_PASSWORD", "hunter2"),
                            "secret: postgres: POSTGRES_PASSWORD"),
    "default-password": (_env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-x}"),
                         "secret: postgres: POSTGRES_PASSWORD"),
    "password-in-url": (_env("migrate", "SWEEPD_DATABASE_URL",
                             "postgresql://sweepd:hunter2@postgres:5432/sweepd"),
                        "secret: migrate: SWEEPD_DATABASE_URL"),
    "published-wrong-port": (_set("api", "ports", ["8642:8000"]), "port: api: publishes"),
    "api-on-loopback": (_env("api", "SWEEPD_HOST", "127.0.0.1"), "port: api: the API listens"),
    "api-port-unset": (lambda c: _svc(c, "api")["environment"].pop("SWEEPD_PORT"),
                       "port: api: the API port is not set"),
    "healthcheck-wrong-port": (
        lambda c: _svc(c, "api")["healthcheck"].__setitem__(
            "test", ["CMD", "curl", "-f", "http://127.0.0.1:9000/healthz"]),
        "port: api: the health check"),
    "worker-wrong-head-port": (_worker_address("ray-head:6380"), "ray-address: ray-worker"),
    "worker-wrong-head-host": (_worker_address("head:6379"), "ray-address: ray-worker"),
    "api-wrong-ray-address": (_env("api", "SWEEPD_RAY_ADDRESS", "ray-head:10001"),
                              "ray-address: api: SWEEPD_RAY_ADDRESS"),
    "api-without-ray-address": (lambda c: _svc(c, "api")["environment"].pop(
        "SWEEPD_RAY_ADDRESS"), "ray-address: api sets no SWEEPD_RAY_ADDRESS"),
    "api-not-a-ray-node": (_set("api", "command", ["sweepd", "serve"]),
                           "ray-address: api must join"),
    "two-heads": (_set("ray-worker", "command", ["ray", "start", "--head", "--block"]),
                  "ray-address: there must be exactly one"),
    "worker-without-ray-auth": (_env("ray-worker", "RAY_AUTH_MODE", "disabled"),
                                "ray-auth: ray-worker does not set RAY_AUTH_MODE=token"),
    "api-without-ray-token": (lambda c: _svc(c, "api")["environment"].pop("RAY_AUTH_TOKEN"),
                              "ray-auth: api has no RAY_AUTH_TOKEN"),
    "head-other-token": (_env("ray-head", "RAY_AUTH_TOKEN", "${HEAD_TOKEN:?required}"),
                         "ray-auth: the Ray nodes do not share one token"),
    "hard-coded-ray-token": (_env("ray-worker", "RAY_AUTH_TOKEN", "0123abcd"),
                             "secret: ray-worker: RAY_AUTH_TOKEN"),
    "depends-wrong-condition": (
        lambda c: _svc(c, "api")["depends_on"]["migrate"].__setitem__(
            "condition", "service_started"),
        "depends-on: api -> migrate"),
    "depends-unhealthy-head": (
        lambda c: _svc(c, "ray-worker")["depends_on"]["ray-head"].__setitem__(
            "condition", "service_started"),
        "depends-on: ray-worker -> ray-head"),
    "depends-missing": (_drop("ray-worker", "depends_on"),
                        "depends-on: ray-worker uses ray-head"),
    "depends-no-migrate": (lambda c: _svc(c, "api")["depends_on"].pop("migrate"),
                           "depends-on: api uses migrate"),
    "depends-unknown-service": (
        lambda c: _svc(c, "api")["depends_on"].__setitem__(
            "redis", {"condition": "service_started"}),
        "depends-on: api waits for redis"),
    "depends-short-form": (_set("migrate", "depends_on", ["postgres"]),
                           "depends-on: migrate: use the long form"),
    "postgres-no-healthcheck": (_drop("postgres", "healthcheck"), "healthcheck: postgres"),
    "api-healthcheck-elsewhere": (
        lambda c: _svc(c, "api")["healthcheck"].__setitem__(
            "test", ["CMD", "curl", "-f", "http://127.0.0.1:8642/"]),
        "healthcheck: api"),
    "api-healthcheck-disabled": (_set("api", "healthcheck", {"disable": True}),
                                 "healthcheck: api"),
    "head-no-healthcheck": (_drop("ray-head", "healthcheck"), "healthcheck: ray-head"),
    "postgres-no-volume": (_drop("postgres", "volumes"), "volume: postgres"),
    "undeclared-volume": (_set("postgres", "volumes", ["pgdata:/var/lib/postgresql/data"]),
                          "volume: postgres mounts pgdata"),
    "api-data-not-kept": (_drop("api", "volumes"), "volume: api"),
    "worker-container-name": (_set("ray-worker", "container_name", "worker"),
                              "scaling: ray-worker has a container_name"),
    "worker-host-port": (_set("ray-worker", "ports", ["8000:8000"]),
                         "scaling: ray-worker publishes"),
    "no-worker": (lambda c: c["services"].pop("ray-worker"), "scaling: there is no ray-worker"),
    "two-images": (_set("ray-worker", "image", "rayproject/ray:latest"),
                   "image: services build different images"),
    "missing-dockerfile": (
        lambda c: [s["build"].__setitem__("dockerfile", "Dockerfile.missing")
                   for s in c["services"].values() if "build" in s],
        "image: api builds Dockerfile.missing"),
    "cpu-on-cuda-image": (
        lambda c: [s["build"].__setitem__("dockerfile", "Dockerfile.gpu")
                   for s in c["services"].values() if "build" in s],
        "image: api builds FROM nvidia/cuda"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_detect_broken_rule_in_mutated_compose(case):
    mutate, expected = MUTATIONS[case]
    compose = copy.deepcopy(BASE)
    mutate(compose)
    found = rules.problems(compose)
    assert any(line.startswith(expected) for line in found), found


def _reservation(compose: dict[str, Any]) -> dict[str, Any]:
    return _svc(compose, "ray-worker")["deploy"]["resources"]["reservations"]["devices"][0]


GPU_MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "no-reservation": (_drop("ray-worker", "deploy"), "gpu: ray-worker reserves no"),
    "other-driver": (lambda c: _reservation(c).__setitem__("driver", "amd"),
                     "gpu: ray-worker reserves no"),
    "no-gpu-capability": (lambda c: _reservation(c).__setitem__("capabilities", ["compute"]),
                          "gpu: ray-worker reserves no"),
    "api-holds-gpus": (lambda c: _svc(c, "api").__setitem__(
        "deploy", copy.deepcopy(_svc(c, "ray-worker")["deploy"])), "gpu: api reserves"),
    "cpu-image": (lambda c: [s["build"].__setitem__("dockerfile", "Dockerfile")
                             for s in c["services"].values() if "build" in s],
                  "gpu: ray-worker builds FROM python"),
    "mixed-images": (lambda c: _svc(c, "ray-head").update(copy.deepcopy(
        {k: BASE["services"]["ray-head"][k] for k in ("image", "build")})),
        "image: services build different images"),
}


@pytest.mark.parametrize("case", sorted(GPU_MUTATIONS))
def test_detect_broken_rule_in_mutated_gpu_override(case):
    mutate, expected = GPU_MUTATIONS[case]
    compose = gpu_compose()
    mutate(compose)
    found = rules.problems(compose, gpu=True)
    assert any(line.startswith(expected) for line in found), found


DOCKERFILE_MUTATIONS: dict[str, tuple[Callable[[str], str], str]] = {
    "package-not-copied": (lambda t: t.replace("COPY workers ./workers\n", ""),
                           "dockerfile: workers is not copied"),
    "torch-unpinned": (lambda t: t.replace('"torch==${TORCH_VERSION}"', "torch"),
                       "dockerfile: torch is not pinned"),
    "torch-other-version": (lambda t: t.replace(f"TORCH_VERSION={TORCH}", "TORCH_VERSION=2.3.0"),
                            "dockerfile: torch is not pinned"),
    "no-server-extra": (lambda t: t.replace('".[server]"', "."),
                        "dockerfile: the project is not installed"),
    "runs-as-root": (lambda t: t.replace("USER sweepd", "USER root"),
                     "dockerfile: the services would run as root"),
}


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
@pytest.mark.parametrize("case", sorted(DOCKERFILE_MUTATIONS))
def test_detect_broken_rule_in_mutated_dockerfile(case, dockerfile):
    mutate, expected = DOCKERFILE_MUTATIONS[case]
    text = mutate((ROOT / dockerfile).read_text())
    found = rules.dockerfile_problems(text, torch_version=TORCH)
    assert any(line.startswith(expected) for line in found), found


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: t + "\nworkers\n", "dockerignore: workers is excluded"),
    (lambda t: t + "\n*.toml\n", "dockerignore: pyproject.toml is excluded"),
    (lambda t: t.replace("\n.venv\n", "\n"), "dockerignore: .venv would be sent"),
], ids=["excludes-package", "excludes-pyproject", "sends-venv"])
def test_detect_broken_rule_in_mutated_dockerignore(mutate, expected):
    found = rules.dockerignore_problems(mutate((ROOT / ".dockerignore").read_text()))
    assert any(line.startswith(expected) for line in found), found


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="docker compose is not installed")
def test_render_compose_files_with_docker_compose_config():
    env = {**os.environ, "POSTGRES_PASSWORD": "0123abcd"}
    for files in (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.gpu.yml"]):
        args = [a for f in files for a in ("-f", str(ROOT / f))]
        result = subprocess.run(["docker", "compose", *args, "config", "--quiet"], env=env,
                                capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stderr
    missing = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"),
                              "config", "--quiet"], capture_output=True, text=True, cwd=ROOT,
                             env={k: v for k, v in os.environ.items()
                                  if k != "POSTGRES_PASSWORD"})
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr
