"""Service settings: one class, read from `SWEEPD_*` environment variables, passed in explicitly.

Nothing else in sweepd reads `os.environ` for configuration: the composition root
(`sweepd serve`) calls `load_settings()` once and hands the object to the API, the store and the
dispatcher. `RAY_ADDRESS` is honoured as Ray itself does when `SWEEPD_RAY_ADDRESS` is unset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("sweepd", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the service. See the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="SWEEPD_", extra="ignore")

    # Storage
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = None  # None: SQLite file in data_dir
    auto_migrate: bool | None = None  # None: only the embedded SQLite default migrates itself
    checkpoint_seconds: float = Field(60.0, gt=0)  # SQLite: fold the WAL into the file this often

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(8642, ge=1, le=65535)
    max_body_bytes: int = Field(1 << 20, ge=1024)
    public_url: str | None = None
    metrics_public: bool = False  # /metrics answers loopback clients only unless set
    http_header_timeout_seconds: float = Field(10.0, gt=0)  # a request's headers must arrive in
    http_keep_alive_seconds: float = Field(5.0, gt=0)  # an idle connection is closed after
    http_max_header_bytes: int = Field(16 * 1024, ge=1024)  # request line + headers, at most
    http_max_connections: int = Field(1000, ge=1)  # beyond: 503 at once
    shutdown_grace_seconds: float = Field(5.0, gt=0)  # open requests may finish within this

    # Execution
    ray_address: str | None = Field(None, validation_alias=AliasChoices("SWEEPD_RAY_ADDRESS",
                                                                       "RAY_ADDRESS"))
    run_dispatcher: bool = True
    task_cpus: float = Field(1.0, gt=0)
    task_gpus: float | Literal["auto"] = "auto"  # "auto": one whole GPU per batch when present
    batch_max_cpu: int = Field(256, ge=1)
    batch_max_gpu: int = Field(4096, ge=1)
    lease_seconds: float = Field(60.0, gt=0)
    reap_interval_seconds: float = Field(5.0, gt=0)
    start_timeout_seconds: float = Field(300.0, gt=0)
    poll_seconds: float = Field(0.2, gt=0)
    # Batches train at this CPU niceness (0: the API's own priority; 19: the lowest): on cores
    # they share, the API's threads run first (a small gain at the status tail, RESULTS.md).
    worker_nice: int = Field(10, ge=0, le=19)
    fault_dir: Path | None = None  # deterministic fault injection for the reliability tests

    # Bounded work: beyond these a request is refused at once (429 + Retry-After), not queued
    replay_max_concurrent: int = Field(2, ge=1)  # replays running at once, all users
    replay_max_per_user: int = Field(1, ge=1)  # replays running at once, one user
    replay_cpus: float = Field(1.0, gt=0)  # Ray CPUs a replay asks for (queues behind batches)
    replay_timeout_seconds: float = Field(600.0, gt=0)  # then 503 + Retry-After, task cancelled
    compare_max_concurrent: int = Field(2, ge=1)  # comparisons computed at once (own threads)
    compare_timeout_seconds: float = Field(30.0, gt=0)  # then 503 + Retry-After; it goes on
    compare_max_pairs: int = Field(20_000, ge=1)  # pairs of runs clustered per group, at most
    compare_max_matching_cost: float = Field(2e9, gt=0)  # per group: pairs x sum(width^3)
    compare_max_matching_width: int = Field(256, ge=1)  # wider hidden layers: no alignment
    sse_poll_seconds: float = Field(0.25, gt=0)  # one store poll per followed sweep this often
    sse_max_streams_per_user: int = Field(16, ge=1)  # open event streams, one user
    sse_auth_recheck_seconds: float = Field(30.0, gt=0)  # a stream re-checks its credential
    retry_after_seconds: int = Field(5, ge=1)  # the Retry-After of a refusal above

    # Limits
    max_trials_per_sweep: int = Field(100_000, ge=1)
    max_trials_in_flight_per_user: int = Field(1_000_000, ge=1)
    # One export (table or stacked weights) is built in the API's memory: at most this big.
    max_export_bytes: int = Field(512 << 20, ge=1 << 20)
    # Resource budgets of one sweep, estimated before it is stored (sweepd.budget): defaults
    # that a laptop survives (1e14 FLOPs: about two hours of one CPU core at the 1.5e10 FLOP/s
    # measured for a [256, 256] MLP).
    max_trial_flops: float = Field(1e14, gt=0)
    max_sweep_flops: float = Field(1e16, gt=0)
    max_trial_memory_bytes: int = Field(1 << 30, ge=1 << 20)
    max_sweep_stored_bytes: int = Field(10 << 30, ge=1 << 20)
    # Uploaded data sets (issue 17): the body, rows, features and values of one upload.
    max_dataset_bytes: int = Field(64 << 20, ge=1024)
    max_dataset_rows: int = Field(1_000_000, ge=4)
    max_dataset_columns: int = Field(1_000, ge=1)
    max_dataset_cells: int = Field(32_000_000, ge=4)

    # Auth
    token_file: Path | None = None  # None: data_dir / "token.json"
    web_session_hours: float = Field(168.0, gt=0)  # a web page session ends this long after
    signin_link_seconds: float = Field(120.0, gt=0)  # a `sweepd open` link works once, this long
    # Comma-separated Host names the service answers (`*.example.org` and `*` allowed); None:
    # the loopback names when bound to loopback, else any, plus public_url's host.
    trusted_hosts: str | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "sweepd.db"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.sqlite_path}"

    @property
    def is_embedded_sqlite(self) -> bool:
        return self.database_url is None

    @property
    def resolved_token_file(self) -> Path:
        return self.token_file or self.data_dir / "token.json"

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def resolved_trusted_hosts(self) -> list[str]:
        """The Host names requests may carry (a rebinding domain pointed at 127.0.0.1 is not
        among them)."""
        if self.trusted_hosts is not None:
            return [h.strip().lower() for h in self.trusted_hosts.split(",") if h.strip()]
        hosts = list(LOOPBACK_NAMES) if self.host in LOOPBACK_NAMES else ["*"]
        if self.public_url:
            hosts.append((urlsplit(self.public_url).hostname or "").lower())
        return hosts


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
