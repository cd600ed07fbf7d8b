"""Uploaded data sets (issue 17): upload (raw body or multipart), list, get, delete."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sweepd.dataset_schemas import DatasetPublic, DatasetsPublic, DatasetUploaded
from sweepd.dataset_upload import upload_dataset
from sweepd.errors import NotFound
from sweepd.records import DatasetRecord
from sweepd_api.deps import DEFAULT_LIMIT, CurrentUser, Limit, Offset, SettingsDep, StoreDep
from sweepd_api.openapi import problems
from sweepd_api.upload_body import MEDIA_TYPES, read_upload

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=problems(401))

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY = {"requestBody": {"required": True, "description": (
    "The file: CSV with a header line, Parquet, or an .npz with arrays x and y; as a raw body "
    f"({', '.join(MEDIA_TYPES)}: the format the type names, octet-stream: sniffed), or as the "
    "part `file` of a multipart/form-data form."), "content": {
        # Generated clients know these two; the other media types are in the description.
        "application/octet-stream": _FILE,
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {
                                               "type": "string", "format": "binary",
                                               "description": "The data set's file."}}}}}}}

Target = Annotated[str | None, Query(min_length=1, max_length=255, description=(
    "The label column of a CSV or Parquet table (every other column is a numeric feature)."))]
Format = Annotated[Literal["csv", "parquet", "npz"] | None, Query(description=(
    "The file's format; unset: from the media type, the file name or the first bytes."))]
Task = Annotated[Literal["auto", "classification", "regression"], Query(description=(
    "What the target is: classes (classification), a number to predict (regression: swept with "
    "`training.loss: mse` and a linear output; R² is reported beside the cost), or auto: "
    "regression when the target is numeric with a value that is not a whole number."))]
Name = Annotated[str | None, Query(min_length=1, max_length=200, description=(
    "A name for people; unset: the file name."))]
Filename = Annotated[str | None, Query(min_length=1, max_length=255, description=(
    "The file's name, for a raw body (a multipart part carries its own); echoed back only."))]
DatasetRef = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^([0-9]{1,10}|[0-9a-f]{64})$",
                                 description="The data set's id, or its sha256.")]


def _ref(value: str) -> int | str:
    if _SHA256.match(value):
        return value
    number = int(value)
    if number < 1:
        raise NotFound(f"data set {number} not found")
    return number


def dataset_public(record: DatasetRecord) -> DatasetPublic:
    return DatasetPublic.model_validate({**record.model_dump(exclude={"owner_id"}),
                                         "task": record.task})


@router.post("", status_code=201, openapi_extra=UPLOAD_BODY,
             responses={200: {"model": DatasetUploaded, "description": "The caller had "
                              "uploaded the same data before: the stored data set"},
                        **problems(413, 415, 422)})
async def upload_dataset_route(request: Request, user: CurrentUser, store: StoreDep,
                               settings: SettingsDep, response: Response,
                               target: Target = None, format: Format = None, name: Name = None,
                               filename: Filename = None, task: Task = "auto"
                               ) -> DatasetUploaded:
    """Upload a data set: parsed and validated completely, then stored once by its content.

    Missing or non-finite features are refused (no imputation), as are files over
    `SWEEPD_MAX_DATASET_BYTES` (64 MiB by default), pickles and archives that unpack beyond the
    limit; each refusal names the column, row or array. The same data uploaded again is the
    same data set (200).
    """
    upload = await read_upload(request, settings.max_dataset_bytes)
    record, created = await run_in_threadpool(
        upload_dataset, store, settings, user.id, upload.data,
        target=target or upload.fields.get("target"), fmt=format or upload.declared,
        filename=upload.filename or filename, name=name or upload.fields.get("name"),
        task=upload.fields.get("task", task) if task == "auto" else task)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/datasets/{record.id}"
    return DatasetUploaded(**dataset_public(record).model_dump(), created=created)


@router.get("", responses=problems(422))
def list_datasets(user: CurrentUser, store: StoreDep, limit: Limit = DEFAULT_LIMIT,
                  offset: Offset = 0) -> DatasetsPublic:
    """The caller's data sets, newest first."""
    records, total = store.list_datasets(user.id, limit=limit, offset=offset)
    return DatasetsPublic(items=[dataset_public(r) for r in records], total=total, limit=limit,
                          offset=offset)


@router.get("/{ref}", responses=problems(404, 422))
def get_dataset(ref: DatasetRef, user: CurrentUser, store: StoreDep) -> DatasetPublic:
    """One data set: shape, classes and their counts, column names, sha256, size, created."""
    return dataset_public(store.get_dataset(user.id, _ref(ref)))


@router.delete("/{ref}", status_code=204, response_class=Response,
               responses=problems(404, 409, 422))
def delete_dataset(ref: DatasetRef, user: CurrentUser, store: StoreDep) -> Response:
    """Delete a data set; refused (409) while a sweep that is not finished trains on it."""
    store.delete_dataset(user.id, _ref(ref))
    return Response(status_code=204)
