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

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from sweepd import tokenfile, weights
from sweepd.errors import (
    BadRequest,
    Conflict,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    SweepdError,
    Unauthorized,
    Unavailable,
)
from sweepd.schemas import SweepPublic, TrialPublic
from sweepd.spec import SweepSpec

_ERRORS = {400: BadRequest, 401: Unauthorized, 404: NotFound, 409: Conflict, 413: InvalidSpec,
           422: InvalidSpec, 429: LimitExceeded, 503: Unavailable}
FINAL_STATES = frozenset({"completed", "failed", "cancelled"})


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

    def signin_link(self) -> str:
        """A link that signs a browser in to the web page as this token's user, once, within
        a short time (`sweepd open`)."""
        return str(self._request("POST", "/signin-links")["url"])

    def wait(self, sweep_id: int, *, progress: bool = True, timeout: float | None = None,
             reconnect_for: float = 300.0) -> Sweep:
        """Block until the sweep is in a final state, with a progress bar fed by SSE.

        The bar counts training steps (trials × steps, running trials' progress included) and
        shows the finished trials beside it. When the service restarts or answers 503 (or 429:
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
        while True:
            data = self._request("GET", f"/sweeps/{sweep_id}/trials",
                                 params={**params, "limit": page_size, "offset": len(out)})
            out.extend(TrialPublic.model_validate(t) for t in data["items"])
            if not data["items"] or len(out) >= data["total"]:
                return out

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

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach sweepd at {self.url}: {exc}") from exc
        _raise_for(resp)
        return resp.json()


class Sweep:
    """A submitted sweep; a thin handle over `Client` calls."""

    def __init__(self, client: Client, public: SweepPublic) -> None:
        self.client = client
        self.public = public

    id = property(lambda self: self.public.id)
    name = property(lambda self: self.public.name)
    state = property(lambda self: self.public.state)
    n_trials = property(lambda self: self.public.n_trials)
    counts = property(lambda self: self.public.counts)

    def refresh(self) -> Sweep:
        self.public = self.client.get(self.id).public
        return self

    def wait(self, *, progress: bool = True, timeout: float | None = None,
             reconnect_for: float = 300.0) -> Sweep:
        """Block until the sweep ends (see `Client.wait`)."""
        self.public = self.client.wait(self.id, progress=progress, timeout=timeout,
                                       reconnect_for=reconnect_for).public
        return self

    def cancel(self) -> Sweep:
        self.public = self.client.cancel(self.id).public
        return self

    def trials(self, **filters: Any) -> TrialList:
        return self.client.trials(self.id, **filters)

    def trials_frame(self, **filters: Any) -> Any:
        return self.client.trials_frame(self.id, **filters)

    def weights(self, trial_id: int, **kw: Any) -> dict[str, Any]:
        return self.client.weights(self.id, trial_id, **kw)

    def compare(self, **options: Any) -> Any:
        return self.client.compare(self.id, **options)

    def best_trial(self, metric: str = "test_accuracy", *, mode: str = "max",
                   tail: bool = True) -> TrialPublic:
        """The finished trial with the best `metric` (as Optuna's `study.best_trial`).

        Args:
            metric: a result field such as "test_accuracy", "train_accuracy" or "test_cost".
            mode: "max" or "min".
            tail: use the value averaged over the last steps where the result has it (what
                the verdict ranks on), else the last step's.

        Raises:
            NotFound: no trial has a finite value of `metric` yet.
            ValueError: an unknown mode.
        """
        if mode not in ("max", "min"):
            raise ValueError("mode must be 'max' or 'min'")
        scored = [(v, t) for t in self.trials(state="completed")
                  if (v := _metric(t, metric, tail)) is not None]
        if not scored:
            raise NotFound(f"no finished trial of sweep {self.id} has a {metric}")
        pick = max if mode == "max" else min
        return pick(scored, key=lambda vt: vt[0])[1]

    def compare_pair(self, a: int, b: int) -> dict[str, Any]:
        return self.client.compare_pair(self.id, a, b)

    def export(self, path: str | Path, *, format: str | None = None) -> Path:
        """Every trial in one file: Parquet (the default; the curve as a list column) or CSV
        (by `format`, or a `.csv` suffix). Read it back with `pandas.read_parquet(path)`."""
        return self.client.export(self.id, path, format=format)

    def stacked_weights(self, *, which: str = "final") -> dict[str, Any]:
        """Every completed trial's tensors stacked along a first axis, with `trials` (ids)."""
        return self.client.stacked_weights(self.id, which=which)

    def export_mlflow(self, tracking_uri: str, **options: Any) -> Any:
        """Log one MLflow run per trial (see `sweepd.mlflow_export.export`); idempotent."""
        from sweepd import mlflow_export

        return mlflow_export.export(self, tracking_uri, **options)

    def plot(self, kind: str = "accuracy", *, metric: str = "test_accuracy") -> Any:
        """A plotly figure of the sweep, drawn from the data the status page draws.

        Args:
            kind: "accuracy" (each seed's `metric` per initializer, best first), "curves"
                (mean training cost with the band of the middle 80 % of seeds) or "units"
                (every hidden unit, raw beside canonical).
            metric: for "accuracy": test_accuracy, train_accuracy, train_cost_tail or test_cost.

        Raises:
            ImportError: plotly is not installed (`pip install 'sweepd[plot]'`).
            ValueError: an unknown kind.
        """
        from sweepd import plots

        if kind not in plots.KINDS:
            raise ValueError(f"kind must be one of {', '.join(plots.KINDS)} (got {kind!r})")
        plots._plotly()  # fail before the download when plotly is missing
        if kind == "units":
            return plots.units(self.client.figure_data(self.id, "units"))
        trials = self.client.figure_data(self.id, "trials")
        return plots.accuracy(trials, metric) if kind == "accuracy" else plots.curves(trials)

    def __repr__(self) -> str:
        return f"<Sweep {self.id} {self.name!r} {self.state} {self.counts}>"

    def _repr_html_(self) -> str:
        """A compact card in Jupyter: name, state, progress and trials per state."""
        from html import escape

        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        return (f"<div><b>sweep {self.id}</b> {escape(self.name)}: <b>{escape(self.state)}</b>, "
                f"{self.public.progress:.0%} of {self.n_trials} trials ({escape(counts)})"
                f"<br><small>sweep.compare() for the verdict</small></div>")


Trial = TrialPublic
TABLE_ROWS = 20  # rows of a trial list shown in Jupyter; the rest are counted


class TrialList(list):  # type: ignore[type-arg]
    """The trials of a sweep: a plain list of `TrialPublic`, shown in Jupyter as a table."""

    def _repr_html_(self) -> str:
        from html import escape

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return f"{value:.4f}"
            return escape("" if value is None else str(value))

        head = ("id", "seed", "initializer", "grid", "state", "test acc", "train cost (tail)")
        rows = []
        for t in self[:TABLE_ROWS]:
            r = t.result
            grid = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()))
            rows.append((t.id, t.seed, t.initializer_label, grid, t.state,
                         r.test_accuracy if r else None, r.train_cost_tail if r else None))
        states: dict[str, int] = {}
        for t in self:
            states[t.state] = states.get(t.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in states.items())
        more = (f"<tr><td colspan=7>… and {len(self) - TABLE_ROWS} more "
                "(trials_frame() for all)</td></tr>") if len(self) > TABLE_ROWS else ""
        return (f"<div><b>{len(self)} trials</b>: {escape(summary)}<table>"
                "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                          for row in rows) + more + "</table></div>")


def _spec_json(spec: SweepSpec | dict[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(spec, SweepSpec):
        return spec.model_dump(mode="json")
    if isinstance(spec, dict):
        return spec
    return _read_spec_file(Path(spec))


def _read_spec_file(path: Path) -> dict[str, Any]:
    """A spec file parsed and validated here, so a bad one is named field by field, as the
    service's 422 names them, before anything is sent."""
    import yaml
    from pydantic import ValidationError

    try:
        return SweepSpec.from_file(path).model_dump(mode="json")  # size-capped before reading
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidSpec(f"{path} is not valid YAML{where}: "
                          f"{getattr(exc, 'problem', None) or exc}") from None
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors(include_input=False, include_url=False,
                                      include_context=False)]
        raise InvalidSpec(f"{path}: {len(errors)} invalid field"
                          f"{'s' if len(errors) != 1 else ''}", errors=errors) from None
    except ValueError as exc:
        raise InvalidSpec(f"{path}: {exc}") from None


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
        detail = body.get("detail") or body.get("title") or resp.text
        errors = body.get("errors") or []
    except ValueError:
        detail, errors = resp.text[:500], []
    cls = _ERRORS.get(resp.status_code, SweepdError)
    error = cls(f"{resp.status_code}: {detail}", errors=errors)
    retry = resp.headers.get("retry-after")
    if retry is not None and retry.isdigit():
        error.retry_after = float(retry)  # type: ignore[attr-defined]
    raise error


def _parse_sse(lines: Iterator[str], deadline: float | None,
               ) -> Iterator[tuple[str, dict[str, Any]]]:
    event, data, event_id = "message", [], None
    for line in lines:
        if deadline is not None and time.monotonic() > deadline:
            return
        if line == "":
            if data:
                parsed = json.loads("\n".join(data))
                if event_id is not None and isinstance(parsed, dict):
                    parsed["_id"] = event_id
                yield event, parsed
            event, data, event_id = "message", [], None
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("id:"):
            event_id = line[3:].strip()


class _Reconnect:
    """Backoff for a waiting client: 1, 2, 4 … 15 s between tries (or the service's
    Retry-After), giving up after `patience` seconds without an answer."""

    def __init__(self, patience: float) -> None:
        self.patience, self.delay = patience, 1.0
        self.last_id: str | None = None
        self.since = time.monotonic()

    def answered(self, data: dict[str, Any]) -> None:
        self.since, self.delay = time.monotonic(), 1.0
        self.last_id = data.get("_id", self.last_id)

    def back_off(self, exc: Exception) -> None:
        if time.monotonic() - self.since > self.patience:
            raise Unavailable(f"sweepd did not answer for {self.patience:g} s: {exc}") from exc
        retry_after = getattr(exc, "retry_after", None)
        time.sleep(min(60.0, retry_after) if retry_after is not None else self.delay)
        self.delay = min(15.0, self.delay * 2)


def _metric(trial: TrialPublic, metric: str, tail: bool) -> float | None:
    result = trial.result
    if result is None:
        return None
    value = getattr(result.tail, metric, None) if tail and result.tail is not None else None
    value = getattr(result, metric, None) if value is None else value
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _steps_per_trial(spec: dict[str, Any]) -> int:
    """Training steps of one trial as the spec states them (1 when it gives epochs instead)."""
    steps = (spec.get("training") or {}).get("steps")
    return int(steps) if isinstance(steps, int) and steps > 0 else 1


def _update_bar(bar: Any, data: dict[str, Any], steps: int) -> None:
    counts = data.get("counts") or {}
    done = sum(counts.get(s, 0) for s in FINAL_STATES)
    total = data.get("n_trials") or sum(counts.values())
    bar.n = min(bar.total, round(float(data.get("progress", 0.0)) * total * steps))
    bar.set_postfix_str(f"{done}/{total} trials" + "".join(
        f", {k} {v}" for k, v in counts.items() if v and k not in FINAL_STATES), refresh=False)
    bar.refresh()


def _trial_row(trial: TrialPublic) -> dict[str, Any]:
    row = {"id": trial.id, "seed": trial.seed, "initializer": trial.initializer_label,
           "state": trial.state, "attempt": trial.attempt, **{f"param.{k}": v for k, v
                                                              in trial.params.items()}}
    if trial.result is not None:
        row.update(trial.result.model_dump(exclude={"curve", "environment", "tail"}))
        tail = trial.result.tail
        row.update({f"tail.{k}": v for k, v in (tail.model_dump() if tail else {}).items()})
    return row
