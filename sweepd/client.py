"""The Python SDK: submit sweeps, follow them live, fetch trials, weights and comparisons.

    >>> from sweepd import Client
    >>> client = Client()                         # URL and token: args, env, or the token file
    >>> sweep = client.submit("moons.yaml")       # a path, a dict or a SweepSpec
    >>> sweep.wait()                              # progress bar driven by Server-Sent Events
    >>> frame = sweep.trials_frame()              # one row per trial (pandas)
    >>> w = client.weights(frame.id[0])           # dict of NumPy arrays

Only httpx, pydantic, NumPy and safetensors are needed: no torch, Ray or database driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from sweepd import tokenfile, weights
from sweepd.client_stream import (  # noqa: F401  (re-exported: the SDK's names, and its tests')
    FINAL_STATES,
    _parse_sse,
    _Reconnect,
    _steps_per_trial,
    _update_bar,
)
from sweepd.client_wire import (  # noqa: F401  (re-exported)
    _ERRORS,
    _raise_for,
    _read_spec_file,
    _spec_json,
    _trial_row,
)
from sweepd.errors import LimitExceeded, NotFound, SweepdError, Unauthorized, Unavailable
from sweepd.handles import TABLE_ROWS, Sweep, TrialList  # noqa: F401  (the SDK's names)
from sweepd.schemas import GrowthPublic, SweepPublic, TrialPublic
from sweepd.spec import SweepSpec


class Client:
    """A connection to a sweepd service.

    Args:
        url: the service URL; default `$SWEEPD_URL`, the token file's URL, or
            http://127.0.0.1:8642.
        token: an API token; default `$SWEEPD_TOKEN`, else the saved local token file.
        timeout: seconds for ordinary requests.
    """

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 timeout: float = 30.0) -> None:
        saved = tokenfile.load()
        self.url = (url or os.environ.get("SWEEPD_URL") or (saved[0] if saved else None)
                    or tokenfile.DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("SWEEPD_TOKEN") or (saved[1] if saved else None)
        if not token:
            raise Unauthorized("no API token: pass token=, set SWEEPD_TOKEN, or run "
                               "`sweepd serve` once to create the local token file")
        self._http = httpx.Client(base_url=f"{self.url}/api/v1", timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sweeps ---------------------------------------------------------------------------

    def submit(self, spec: SweepSpec | dict[str, Any] | str | Path, *,
               idempotency_key: str | None = None) -> Sweep:
        """Submit a sweep; `spec` is a SweepSpec, a dict, or the path of a YAML/JSON file.

        Raises:
            InvalidSpec: the service rejected the spec (the message names the field).
            Conflict: the idempotency key was used before with another spec.
        """
        body = _spec_json(spec)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._request("POST", "/sweeps", json=body, headers=headers)
        return Sweep(self, SweepPublic.model_validate(data))

    def get(self, sweep_id: int) -> Sweep:
        return Sweep(self, SweepPublic.model_validate(self._request("GET", f"/sweeps/{sweep_id}")))

    def list(self, *, limit: int = 50, offset: int = 0, name: str | None = None) -> list[Sweep]:
        """One page of your sweeps, newest first (only those called `name`, when given)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if name is not None:
            params["name"] = name
        data = self._request("GET", "/sweeps", params=params)
        return [Sweep(self, SweepPublic.model_validate(item)) for item in data["items"]]

    def sweeps(self, *, name: str | None = None, page_size: int = 200) -> list[Sweep]:
        """All your sweeps (every page), newest first; only those called `name`, when given."""
        out: list[Sweep] = []
        while True:
            page = self.list(limit=page_size, offset=len(out), name=name)
            out.extend(page)
            if len(page) < page_size:
                return out

    def sweep(self, name: str) -> Sweep:
        """Your newest sweep called `name` (as Optuna's `load_study(study_name=...)`).

        Raises:
            NotFound: you have no sweep of that name.
        """
        found = self.list(limit=1, name=name)
        if not found:
            raise NotFound(f"you have no sweep named {name!r}")
        return found[0]

    def cancel(self, sweep_id: int) -> Sweep:
        data = self._request("POST", f"/sweeps/{sweep_id}/cancel")
        return Sweep(self, SweepPublic.model_validate(data))

    def pause_sweep(self, sweep_id: int) -> Sweep:
        """Pause a sweep: no new trial starts; running trials finish and are stored.

        Raises:
            NotFound: no such sweep of yours.
            Conflict: the sweep has ended.
        """
        data = self._request("POST", f"/sweeps/{sweep_id}/pause")
        return Sweep(self, SweepPublic.model_validate(data))

    def resume_sweep(self, sweep_id: int) -> Sweep:
        """Resume a paused sweep (running again, or pending if no trial had started).

        Raises:
            NotFound: no such sweep of yours.
            Conflict: the sweep has ended.
        """
        data = self._request("POST", f"/sweeps/{sweep_id}/resume")
        return Sweep(self, SweepPublic.model_validate(data))

    def add_seeds(self, sweep_id: int, count: int | None = None, *,
                  seeds: list[int] | None = None, initializers: list[str] | None = None,
                  idempotency_key: str | None = None) -> Sweep:
        """Grow a sweep by `count` more seeds (the next unused ones) or by these `seeds`, for
        every initializer or only these `initializers`; a finished sweep runs again.

        The new trials are the cells a sweep that asked for these seeds at once would have,
        so their results are bitwise the same. With `idempotency_key`, a retry adds once.

        Raises:
            NotFound: no such sweep of yours.
            Conflict: a cancelled, search or adaptive sweep; the key used with another body.
            InvalidSpec: a seed already in the sweep, an unknown initializer, over a limit.
            LimitExceeded: your trials in flight would exceed the quota.
        """
        body: dict[str, Any] = {"count": count} if seeds is None else {"seeds": list(seeds)}
        if initializers is not None:
            body["initializers"] = list(initializers)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._request("POST", f"/sweeps/{sweep_id}/seeds", json=body, headers=headers)
        return Sweep(self, SweepPublic.model_validate(data["sweep"]))

    def growths(self, sweep_id: int) -> list[GrowthPublic]:
        """How a sweep grew, oldest first: seeds added, and an adaptive sweep's blocks with the
        decision state of each look."""
        data = self._request("GET", f"/sweeps/{sweep_id}/growths")
        return [GrowthPublic.model_validate(item) for item in data["items"]]

    def signin_link(self) -> str:
        """A link that signs a browser in to the web page as this token's user, once, within
        a short time (`sweepd open`)."""
        return str(self._request("POST", "/signin-links")["url"])

    def wait(self, sweep_id: int, *, progress: bool = True, timeout: float | None = None,
             reconnect_for: float = 300.0) -> Sweep:
        """Block until the sweep is in a final state, with a progress bar fed by SSE.

        The bar counts training steps (trials × steps, running trials' progress included) and
        shows the finished trials beside it. A paused sweep keeps it waiting, its bar reading
        "paused", until the sweep is resumed and ends (or `timeout` passes): pausing is a
        break, not an end. When the service restarts or answers 503 (or 429:
        too many of the user's streams are open), the client reconnects with backoff
        (honouring Retry-After) and resumes the stream from the last event it saw, for up to
        `reconnect_for` seconds without an answer.

        Raises:
            TimeoutError: the sweep has not finished after `timeout` seconds.
            Unavailable: the service stayed unreachable for `reconnect_for` seconds.
        """
        from tqdm.auto import tqdm

        deadline = None if timeout is None else time.monotonic() + timeout
        stream = _Reconnect(reconnect_for)
        sweep = self._get_patiently(sweep_id, stream)
        steps = _steps_per_trial(sweep.public.spec)
        with tqdm(total=sweep.n_trials * steps, disable=not progress, unit="step",
                  unit_scale=True, desc=f"sweep {sweep_id}") as bar:
            _update_bar(bar, sweep.public.model_dump(), steps)
            while sweep.state not in FINAL_STATES:
                try:
                    for event, data in self.events(sweep_id, deadline=deadline,
                                                   last_event_id=stream.last_id):
                        stream.answered(data)
                        if event == "progress":
                            _update_bar(bar, data, steps)
                        if event == "end":
                            break
                    sweep = self.get(sweep_id)
                    stream.answered({})
                except (Unavailable, httpx.TransportError) as exc:
                    stream.back_off(exc)
                except LimitExceeded as exc:  # 429: too many open streams; try again later
                    if getattr(exc, "retry_after", None) is None:
                        raise
                    stream.back_off(exc)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"sweep {sweep_id} still {sweep.state} after {timeout} s")
            _update_bar(bar, sweep.public.model_dump(), steps)
        return sweep

    def _get_patiently(self, sweep_id: int, stream: _Reconnect) -> Sweep:
        while True:
            try:
                return self.get(sweep_id)
            except Unavailable as exc:
                stream.back_off(exc)

    def events(self, sweep_id: int, *, deadline: float | None = None,
               last_event_id: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (event, data) pairs from the sweep's Server-Sent Events stream; a `trial`
        event's data carries its SSE id under "_id" (pass it back as `last_event_id`)."""
        timeout = httpx.Timeout(30.0, read=60.0)
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        try:
            with self._http.stream("GET", f"/sweeps/{sweep_id}/events", timeout=timeout,
                                   headers=headers) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _raise_for(resp)
                yield from _parse_sse(resp.iter_lines(), deadline)
        except httpx.TransportError as exc:
            raise Unavailable(f"lost the event stream of sweep {sweep_id}: {exc}") from exc

    # -- trials ---------------------------------------------------------------------------

    def trials(self, sweep_id: int, *, state: str | None = None, initializer: str | None = None,
               seed: int | None = None, page_size: int = 200) -> TrialList:
        """Every trial of a sweep (all pages), as typed objects (a list that Jupyter shows as
        a table)."""
        params = {k: v for k, v in {"state": state, "initializer": initializer,
                                    "seed": seed}.items() if v is not None}
        out = TrialList()
        page: dict[str, Any] = {"limit": page_size}
        while True:  # keyset pages: each one index seek, none skipped while trials move
            data = self._request("GET", f"/sweeps/{sweep_id}/trials", params={**params, **page})
            out.extend(TrialPublic.model_validate(t) for t in data["items"])
            if data.get("next_after") is None:
                return out
            page["after"] = data["next_after"]

    def trial_rows(self, sweep_id: int, **filters: Any) -> list[dict[str, Any]]:
        """The trials as flat dicts, one per trial with its metrics (no pandas needed)."""
        return [_trial_row(t) for t in self.trials(sweep_id, **filters)]

    def trials_frame(self, sweep_id: int, **filters: Any) -> Any:
        """The trials as a pandas DataFrame, one row per trial with its metrics.

        Raises:
            ImportError: pandas is not installed (`pip install 'sweepd[pandas]'`).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("trials_frame() needs pandas: pip install 'sweepd[pandas]' "
                              "(or use trial_rows(), which needs nothing more)") from None
        return pd.DataFrame(self.trial_rows(sweep_id, **filters))

    def trial(self, sweep_id: int, trial_id: int) -> TrialPublic:
        data = self._request("GET", f"/sweeps/{sweep_id}/trials/{trial_id}")
        return TrialPublic.model_validate(data)

    def weights(self, sweep_id: int, trial_id: int, *, which: str = "final",
                canonical: bool = False) -> dict[str, Any]:
        """A trial's weights as a dict of NumPy arrays; the download's sha256 is checked."""
        params: dict[str, Any] = {"which": which}
        if canonical:
            params["canonical"] = "true"
        resp = self._http.get(f"/sweeps/{sweep_id}/trials/{trial_id}/weights", params=params)
        _raise_for(resp)
        expected = resp.headers.get("x-content-sha256")
        if expected and not canonical and weights.sha256(resp.content) != expected:
            raise SweepdError(f"weights of trial {trial_id} arrived corrupted (sha256 mismatch)")
        return weights.unpack(resp.content)

    def weights_bytes(self, sweep_id: int, trial_id: int, *, which: str = "final") -> bytes:
        resp = self._http.get(f"/sweeps/{sweep_id}/trials/{trial_id}/weights",
                              params={"which": which})
        _raise_for(resp)
        return resp.content

    # -- comparison -----------------------------------------------------------------------

    def compare(self, sweep_id: int, **options: Any) -> Any:
        """The sweep's comparison (statistics, paired tests, solutions modulo symmetry)."""
        from sweepd.compare_view import ComparisonView

        return ComparisonView(self._request("GET", f"/sweeps/{sweep_id}/compare",
                                            params=options, timeout=300.0))

    def export(self, sweep_id: int, path: str | Path, *, format: str | None = None) -> Path:
        """Download every trial of a sweep as one table file (see `Sweep.export`)."""
        path = Path(path)
        fmt = format or {".csv": "csv"}.get(path.suffix.lower(), "parquet")
        self._download(f"/sweeps/{sweep_id}/export", path, params={"format": fmt})
        return path

    def export_weights(self, sweep_id: int, path: str | Path, *, which: str = "final") -> Path:
        """Download every completed trial's weights stacked into one safetensors file."""
        path = Path(path)
        self._download(f"/sweeps/{sweep_id}/weights.safetensors", path, params={"which": which})
        return path

    def stacked_weights(self, sweep_id: int, *, which: str = "final") -> dict[str, Any]:
        """Every completed trial's weights as NumPy arrays stacked along a first axis; the
        `trials` array holds the trial id of each slice."""
        resp = self._http.get(f"/sweeps/{sweep_id}/weights.safetensors",
                              params={"which": which}, timeout=600.0)
        _raise_for(resp)
        return weights.unpack(resp.content)

    def _download(self, path: str, target: Path, **kwargs: Any) -> None:
        partial = target.with_name(target.name + ".part")
        with self._http.stream("GET", path, timeout=600.0, **kwargs) as resp:
            if resp.status_code >= 400:
                resp.read()
                _raise_for(resp)
            with partial.open("wb") as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
        partial.replace(target)  # a file that is there is whole

    def figure_data(self, sweep_id: int, name: str) -> dict[str, Any]:
        """The JSON behind one of the status page's plots: "trials", "comparison" or "units"."""
        return self._request("GET", f"/sweeps/{sweep_id}/figures/{name}", timeout=300.0)

    def compare_pair(self, sweep_id: int, a: int, b: int) -> dict[str, Any]:
        """Aligned distance, disagreement, barriers and CKA between two trials."""
        return self._request("GET", f"/sweeps/{sweep_id}/compare/pair",
                             params={"a": a, "b": b}, timeout=300.0)

    def replay(self, sweep_id: int, trial_id: int) -> dict[str, Any]:
        """Re-train a trial through the same code path; says whether the weights match."""
        return self._request("POST", f"/sweeps/{sweep_id}/trials/{trial_id}/replay",
                             timeout=600.0)

    # -- uploaded data sets (issue 17) ---------------------------------------------------

    def upload_dataset(self, x: Any = None, y: Any = None, *, target: str | None = None,
                       path: str | Path | None = None, name: str | None = None,
                       task: str = "auto") -> Any:
        """Upload a data set once and sweep on it by reference
        (`dataset: {name: uploaded, id: <id or sha256>}`).

        Args:
            x, y: numpy features (n, d) and labels (n,); or x a pandas DataFrame and
                `target` its label column.
            path: a CSV or Parquet file (with `target`) or an .npz with arrays x and y.
            name: a name for people (default: the file name).
            task: "classification", "regression" (a numeric target, swept with mse; R² is
                reported beside the cost) or "auto" (regression for a fractional target).

        Returns:
            `DatasetUploaded`: id, sha256, shape, classes; `created` is False when the same
            data was uploaded before.
        """
        from sweepd.dataset_client import upload_body
        from sweepd.dataset_schemas import DatasetUploaded

        body, media, params = upload_body(x, y, target=target, path=path)
        params.update({k: v for k, v in (("name", name), ("task", task)) if v and v != "auto"})
        return DatasetUploaded.model_validate(self._request(
            "POST", "/datasets", content=body, params=params, timeout=600.0,
            headers={"Content-Type": media}))

    def list_datasets(self, *, limit: int = 100, offset: int = 0) -> list[Any]:
        """Your data sets, newest first (`DatasetPublic` each)."""
        from sweepd.dataset_schemas import DatasetsPublic

        page = self._request("GET", "/datasets", params={"limit": limit, "offset": offset})
        return list(DatasetsPublic.model_validate(page).items)

    def get_dataset(self, ref: int | str) -> Any:
        """One of your data sets by id or sha256 (`DatasetPublic`)."""
        from sweepd.dataset_schemas import DatasetPublic

        return DatasetPublic.model_validate(self._request("GET", f"/datasets/{ref}"))

    def delete_dataset(self, ref: int | str) -> None:
        """Delete one of your data sets (refused while an open sweep trains on it)."""
        try:
            resp = self._http.request("DELETE", f"/datasets/{ref}")
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach sweepd at {self.url}: {exc}") from exc
        _raise_for(resp)

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach sweepd at {self.url}: {exc}") from exc
        _raise_for(resp)
        return resp.json()


Trial = TrialPublic
