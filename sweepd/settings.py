"""Service settings: one class, read from `SWEEPD_*` environment variables, passed in explicitly.

Nothing else in sweepd reads `os.environ` for configuration: the composition root
(`sweepd serve`) calls `load_settings()` once and hands the object to the API, the store and the
dispatcher. `RAY_ADDRESS` is honoured as Ray itself does when `SWEEPD_RAY_ADDRESS` is unset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("sweepd", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the service. See the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="SWEEPD_", extra="ignore")

    # Storage
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = None  # None: SQLite file in data_dir
    auto_migrate: bool | None = None  # None: only the embedded SQLite default migrates itself

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(8642, ge=1, le=65535)
    max_body_bytes: int = Field(1 << 20, ge=1024)
    public_url: str | None = None
    metrics_public: bool = False  # /metrics answers loopback clients only unless set

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
    fault_dir: Path | None = None  # deterministic fault injection for the reliability tests

    # Limits
    max_trials_per_sweep: int = Field(100_000, ge=1)
    max_trials_in_flight_per_user: int = Field(1_000_000, ge=1)
    # One export (table or stacked weights) is built in the API's memory: at most this big.
    max_export_bytes: int = Field(512 << 20, ge=1 << 20)

    # Auth
    token_file: Path | None = None  # None: data_dir / "token.json"

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


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
