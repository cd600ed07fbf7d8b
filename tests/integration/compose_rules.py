"""Static rules for docker-compose.yml, docker-compose.gpu.yml, the Dockerfiles and .dockerignore.

There is no Docker engine on the test machines, so `docker compose config` cannot be the only
check. `problems(compose)` returns one line per broken rule, each prefixed by the rule's name
(`entry-point:`, `setting:`, `secret:`, `port:`, `ray-address:`, `ray-auth:`, `depends-on:`,
`healthcheck:`, `volume:`, `scaling:`, `image:`, `gpu:`); an empty list means the file is
consistent with the sweepd CLI, the settings class and Ray's `ray start`. test_compose.py
mutates copies of the real files to show that every rule can fail.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tests.integration.compose_model import (
    ROOT,
    argv_problem,
    commands,
    environment,
    interpolate,
    is_sweepd_service,
    option_value,
    runs,
)

Problems = Iterator[str]
CPU_BASE = "python:3.11-slim"
CUDA_BASE = re.compile(r"^nvidia/cuda:[\w.]+-(cudnn-)?runtime-")
POSTGRES_DATA = ("/var/lib/postgresql/data", "/var/lib/postgresql")
_REF = re.compile(r"\$\{[^}]*\}")
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)$")
_REQUIRED_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}$")
_URL_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*:(?P<password>[^/@]+)@")


def problems(compose: Mapping[str, Any], *, gpu: bool = False) -> list[str]:
    """Every broken rule of a (merged) compose file, one line each; empty when all hold."""
    rules = [entry_points, settings, secrets, api_port, ray_addresses, ray_auth, dependencies,
             healthchecks, volumes, scalable_workers, one_image]
    rules.append(gpu_workers if gpu else cpu_image)
    return [line for rule in rules for line in rule(compose)]


def _services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return compose.get("services") or {}


def _raw_env(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {k: str(v) for k, v in raw.items()}


# -- what runs, and with which settings ------------------------------------------------------


def entry_points(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        if not is_sweepd_service(svc):
            continue
        argvs = commands(svc)
        if not argvs:
            yield f"entry-point: {name} has no command (the image's CMD is only --help)"
        for argv in argvs:
            if why := argv_problem(argv):
                yield f"entry-point: {name}: {why}"


@cache
def setting_env_names() -> frozenset[str]:
    """The environment variables sweepd.settings.Settings reads (prefix and aliases applied)."""
    from pydantic import AliasChoices

    from sweepd.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        else:
            names.add(str(alias or prefix + field_name).upper())
    return frozenset(names)


def settings(compose: Mapping[str, Any]) -> Problems:
    from pydantic import ValidationError

    from sweepd.settings import Settings

    for name, svc in _services(compose).items():
        env = environment(svc)
        ours = {k: v for k, v in env.items() if k.startswith("SWEEPD_") or k == "RAY_ADDRESS"}
        unknown = sorted(set(ours) - setting_env_names())
        for key in unknown:
            yield f"setting: {name}: {key} is not a field of sweepd.settings.Settings"
        known = {k: v for k, v in ours.items() if k not in unknown}
        try:
            Settings(**{_field_key(k): v for k, v in known.items()})
        except ValidationError as exc:
            yield f"setting: {name}: invalid values: {exc.errors()[0]['msg']}"


def _field_key(env_name: str) -> str:
    from sweepd.settings import Settings

    field = env_name.removeprefix("SWEEPD_").lower()
    return field if field in Settings.model_fields else env_name  # an alias such as RAY_ADDRESS


def secrets(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        for key, value in _raw_env(svc).items():
            if _SECRET_NAME.search(key) and not _REQUIRED_REF.match(value):
                yield f"secret: {name}: {key} must come from ${{{key}:?...}}, not the file"
            if (password := _url_password(value)) is not None and \
                    not _REQUIRED_REF.match(password):
                yield f"secret: {name}: {key} has a password that is not a ${{VAR:?}} reference"


def _url_password(value: str) -> str | None:
    refs = _REF.findall(value)
    masked = _REF.sub(lambda m: f"\0{refs.index(m[0])}\0", value)
    match = _URL_USERINFO.match(masked)
    if match is None:
        return None
    return re.sub(r"\0(\d+)\0", lambda m: refs[int(m[1])], match["password"])


# -- how the services find each other --------------------------------------------------------


def _port_target(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("target"))
    return interpolate(str(entry), {}).split("/")[0].rsplit(":", 1)[-1]


def _has_host_port(entry: Any) -> bool:
    if isinstance(entry, dict):
        return bool(entry.get("published"))
    return ":" in interpolate(str(entry), {})


def _healthcheck_text(svc: Mapping[str, Any]) -> str:
    check = svc.get("healthcheck") or {}
    if check.get("disable"):
        return ""
    test = check.get("test") or ""
    return " ".join(test) if isinstance(test, list) else str(test)


def api_port(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        if not runs(svc, "sweepd", "serve"):
            continue
        env = environment(svc)
        port = option_value(svc, ("sweepd", "serve"), "--port") or env.get("SWEEPD_PORT")
        host = option_value(svc, ("sweepd", "serve"), "--host") or env.get("SWEEPD_HOST")
        if port is None:
            yield f"port: {name}: the API port is not set (SWEEPD_PORT)"
            continue
        if host != "0.0.0.0":
            yield f"port: {name}: the API listens on {host}, unreachable from outside"
        targets = [_port_target(p) for p in svc.get("ports") or []]
        if targets != [port]:
            yield f"port: {name}: publishes container ports {targets}, the API listens on {port}"
        if f":{port}/" not in _healthcheck_text(svc):
            yield f"port: {name}: the health check does not probe port {port}"


def _head(compose: Mapping[str, Any]) -> tuple[str, str] | None:
    heads = [n for n, s in _services(compose).items()
             if any(a[:2] == ["ray", "start"] and "--head" in a for a in commands(s))]
    if len(heads) != 1:
        return None
    port = option_value(_services(compose)[heads[0]], ("ray", "start"), "--port") or "6379"
    return heads[0], port


def ray_addresses(compose: Mapping[str, Any]) -> Problems:
    head = _head(compose)
    if head is None:
        yield "ray-address: there must be exactly one `ray start --head` service"
        return
    expected = f"{head[0]}:{head[1]}"
    for name, svc in _services(compose).items():
        address = option_value(svc, ("ray", "start"), "--address")
        if name != head[0] and runs(svc, "ray", "start") and address != expected:
            yield f"ray-address: {name} joins Ray at {address}, the head is {expected}"
        env = environment(svc)
        for key in ("SWEEPD_RAY_ADDRESS", "RAY_ADDRESS"):
            if key in env and env[key] != expected:
                yield f"ray-address: {name}: {key}={env[key]}, the head is {expected}"
        if runs(svc, "sweepd", "serve") or runs(svc, "sweepd", "dispatcher"):
            yield from _driver_problems(name, svc, env)


def _driver_problems(name: str, svc: Mapping[str, Any], env: Mapping[str, str]) -> Problems:
    if not (env.get("SWEEPD_RAY_ADDRESS") or env.get("RAY_ADDRESS")):
        yield f"ray-address: {name} sets no SWEEPD_RAY_ADDRESS: it would start a private Ray"
    steps = commands(svc)
    joins = [i for i, a in enumerate(steps) if a[:2] == ["ray", "start"]]
    serves = [i for i, a in enumerate(steps) if a[:1] == ["sweepd"]]
    # A Ray driver must run on a Ray node (Ray looks for a raylet on the driver's own address).
    if not joins or not serves or joins[0] > serves[0]:
        yield f"ray-address: {name} must join the cluster (`ray start --address`) before sweepd"


def _joins_ray(svc: Mapping[str, Any]) -> bool:
    return any(runs(svc, *p) for p in (("ray", "start"), ("sweepd", "serve"),
                                      ("sweepd", "dispatcher")))


def ray_auth(compose: Mapping[str, Any]) -> Problems:
    tokens = set()
    for name, svc in _services(compose).items():
        if not _joins_ray(svc):
            continue
        raw = _raw_env(svc)
        if raw.get("RAY_AUTH_MODE") != "token":
            yield f"ray-auth: {name} does not set RAY_AUTH_MODE=token"
        if "RAY_AUTH_TOKEN" not in raw:
            yield f"ray-auth: {name} has no RAY_AUTH_TOKEN: it cannot join the cluster"
        tokens.add(raw.get("RAY_AUTH_TOKEN"))
    if len(tokens) > 1:
        yield f"ray-auth: the Ray nodes do not share one token ({len(tokens)} different values)"


def _expected_condition(target: Mapping[str, Any]) -> str:
    if runs(target, "sweepd", "migrate"):
        return "service_completed_successfully"
    return "service_healthy" if _healthcheck_text(target) else "service_started"


def _required_targets(svc: Mapping[str, Any], compose: Mapping[str, Any]) -> set[str]:
    names = set(_services(compose))
    env = environment(svc)
    needed: set[str] = set()
    if url := env.get("SWEEPD_DATABASE_URL"):
        needed.add(urlsplit(url).hostname or "")
    address = env.get("SWEEPD_RAY_ADDRESS") or option_value(svc, ("ray", "start"), "--address")
    if address:
        needed.add(address.rsplit(":", 1)[0])
    if runs(svc, "sweepd", "serve") or runs(svc, "sweepd", "dispatcher"):
        needed |= {n for n, s in _services(compose).items() if runs(s, "sweepd", "migrate")}
    return needed & names


def dependencies(compose: Mapping[str, Any]) -> Problems:
    services = _services(compose)
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            yield f"depends-on: {name}: use the long form with a condition"
            deps = {d: {} for d in deps}
        for target, spec in deps.items():
            if target not in services:
                yield f"depends-on: {name} waits for {target}, which is not a service"
                continue
            got = (spec or {}).get("condition", "service_started")
            if got != (want := _expected_condition(services[target])):
                yield f"depends-on: {name} -> {target}: condition {got}, expected {want}"
        for target in sorted(_required_targets(svc, compose) - set(deps) - {name}):
            yield f"depends-on: {name} uses {target} but does not wait for it"


# -- health, state, scaling, images ----------------------------------------------------------


def healthchecks(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        text = _healthcheck_text(svc)
        if str(svc.get("image", "")).startswith("postgres") and "pg_isready" not in text:
            yield f"healthcheck: {name} (PostgreSQL) needs a pg_isready health check"
        if runs(svc, "sweepd", "serve") and "/healthz" not in text:
            yield f"healthcheck: {name} (API) needs a health check on /healthz"
        if name == (_head(compose) or ("",))[0] and not text:
            yield f"healthcheck: {name} (Ray head) needs a health check"


def _mounts(svc: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for entry in svc.get("volumes") or []:
        if isinstance(entry, dict):
            out.append((str(entry.get("source", "")), str(entry.get("target", ""))))
        elif ":" in entry:
            source, target = entry.split(":")[:2]
            out.append((source, target))
    return out


def volumes(compose: Mapping[str, Any]) -> Problems:
    declared = set(compose.get("volumes") or {})
    for name, svc in _services(compose).items():
        mounts = _mounts(svc)
        for source, _ in mounts:
            if not source.startswith((".", "/", "~")) and source not in declared:
                yield f"volume: {name} mounts {source}, which is not declared under volumes:"
        targets = {target for _, target in mounts}
        if str(svc.get("image", "")).startswith("postgres") and not targets & set(POSTGRES_DATA):
            yield f"volume: {name} (PostgreSQL) keeps its data in no volume"
        data_dir = environment(svc).get("SWEEPD_DATA_DIR")
        if runs(svc, "sweepd", "serve") and data_dir not in targets:
            yield f"volume: {name}: SWEEPD_DATA_DIR ({data_dir}) is not a volume"


def scalable_workers(compose: Mapping[str, Any]) -> Problems:
    worker = _services(compose).get("ray-worker")
    if worker is None:
        yield "scaling: there is no ray-worker service"
        return
    if "container_name" in worker:
        yield "scaling: ray-worker has a container_name, so --scale ray-worker=N fails"
    if any(_has_host_port(p) for p in worker.get("ports") or []):
        yield "scaling: ray-worker publishes a fixed host port, so --scale ray-worker=N fails"


def _build_key(svc: Mapping[str, Any]) -> str:
    return json.dumps([svc.get("image"), svc.get("build")], sort_keys=True)


def one_image(compose: Mapping[str, Any]) -> Problems:
    ours = {n: s for n, s in _services(compose).items() if is_sweepd_service(s)}
    if len({_build_key(s) for s in ours.values()}) > 1:
        yield f"image: services build different images {sorted(ours)}: Ray needs one version"
    for name, svc in ours.items():
        if not (ROOT / _dockerfile(svc)).is_file():
            yield f"image: {name} builds {_dockerfile(svc)}, which does not exist"


def _dockerfile(svc: Mapping[str, Any]) -> str:
    build = svc["build"]
    return "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")


def base_image(dockerfile: str) -> str:
    """The final stage's base image of a Dockerfile, its ARG defaults substituted."""
    args: dict[str, str] = {}
    base = ""
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["ARG"] and "=" in words[1]:
            key, value = words[1].split("=", 1)
            args.setdefault(key, value)
        elif words[:1] == ["FROM"]:
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), words[1])
    return base


def _base_of(svc: Mapping[str, Any]) -> str | None:
    path = ROOT / _dockerfile(svc)
    return base_image(path.read_text()) if path.is_file() else None  # missing: see one_image


def cpu_image(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        if is_sweepd_service(svc):
            base = _base_of(svc)
            if base is not None and base != CPU_BASE:
                yield f"image: {name} builds FROM {base}, expected {CPU_BASE}"


def gpu_workers(compose: Mapping[str, Any]) -> Problems:
    for name, svc in _services(compose).items():
        devices = (((svc.get("deploy") or {}).get("resources") or {})
                   .get("reservations") or {}).get("devices") or []
        nvidia = any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or [])
                     for d in devices)
        if name == "ray-worker" and not nvidia:
            yield "gpu: ray-worker reserves no NVIDIA GPU (driver nvidia, capabilities [gpu])"
        if name != "ray-worker" and devices:
            yield f"gpu: {name} reserves devices, but only the workers run trials"
        if is_sweepd_service(svc):
            base = _base_of(svc)
            if base is not None and not CUDA_BASE.match(base):
                yield f"gpu: {name} builds FROM {base}, not a CUDA runtime image"


# -- Dockerfiles and the build context -------------------------------------------------------


@cache
def project_packages() -> tuple[str, ...]:
    """The repository folders the wheel's packages come from (pyproject's `packages`, through
    `package-dir`: sweepd_api is the folder api/, and so on)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = setuptools.get("package-dir", {})
    tops = dict.fromkeys(p.split(".")[0] for p in setuptools["packages"])
    return tuple(folders.get(top, top) for top in tops)


def dockerfile_problems(text: str, *, torch_version: str) -> list[str]:
    """What a Dockerfile misses to build a working sweepd image."""
    found = []
    copied = {w for line in text.splitlines() if line.split()[:1] == ["COPY"]
              for w in line.split()[1:-1] if not w.startswith("--")}
    for needed in ("pyproject.toml", "README.md", *project_packages()):
        if needed not in copied:
            found.append(f"dockerfile: {needed} is not copied into the image")
    if f"ARG TORCH_VERSION={torch_version}" not in text or '"torch==${TORCH_VERSION}"' not in text:
        found.append(f"dockerfile: torch is not pinned to {torch_version}")
    if '".[server]"' not in text:
        found.append("dockerfile: the project is not installed with the [server] extra")
    if not re.search(r"^USER (?!root)\w+", text, re.M):
        found.append("dockerfile: the services would run as root")
    return found


def dockerignore_problems(text: str) -> list[str]:
    """What .dockerignore gets wrong: excluding sources the image needs, or not local state."""
    patterns = [p.strip() for p in text.splitlines() if p.strip() and not p.startswith("#")]
    found = []
    for needed in ("pyproject.toml", "README.md", *project_packages()):
        if any(fnmatch.fnmatch(needed, p) for p in patterns):
            found.append(f"dockerignore: {needed} is excluded but the image needs it")
    for private in (".git", ".venv", ".env"):
        if private not in patterns:
            found.append(f"dockerignore: {private} would be sent to the Docker daemon")
    return found
