"""Reading an upload's body: counted while it streams, then a raw file or one multipart part.

The body is read chunk by chunk with a counter, so a client without Content-Length (chunked
transfer) is cut off at the cap like one that declares too much (`BodyLimitMiddleware` refuses
that before a byte is read). Multipart bodies are split here, in memory, by a small parser of
RFC 7578's subset that browsers and HTTP clients send: at most a few parts, one file, headers
of bounded size. The file name a part carries is returned to be checked and echoed, never
used as a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from fastapi import Request

from sweepd.errors import InvalidSpec
from sweepd_api.errors import PayloadTooLarge, UnsupportedMediaType

MAX_PARTS = 8
MAX_PART_HEADERS = 8 * 1024
MAX_FIELD = 1024
# Raw bodies: the format they declare (None: sniffed from the bytes).
MEDIA_TYPES: dict[str, str | None] = {
    "text/csv": "csv", "application/csv": "csv", "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet", "application/x-npz": "npz", "application/zip": "npz",
    "application/octet-stream": None,
}


@dataclass
class Upload:
    """The file of an upload request, and the form fields that came with it."""

    data: bytes
    declared: str | None = None  # the format its media type names
    filename: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


async def read_counted(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it passes `limit` bytes.

    Raises:
        PayloadTooLarge: more than `limit` bytes (413).
    """
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"the upload is larger than the limit of {limit} bytes "
                                  "(SWEEPD_MAX_DATASET_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(request: Request, limit: int) -> Upload:
    """The uploaded file: the raw body, or the `file` part of a multipart/form-data body.

    Raises:
        PayloadTooLarge: the body or its file over `limit` bytes.
        UnsupportedMediaType: a media type that is not a data set (415).
        InvalidSpec: a malformed multipart body, or one without a `file` part.
    """
    media = _media_type(request.headers.get("content-type", "application/octet-stream"))
    if media[0] == "multipart/form-data":
        body = await read_counted(request, limit + 64 * 1024)  # the envelope's few headers
        upload = split_multipart(body, media[1].get("boundary", ""))
        if len(upload.data) > limit:
            raise PayloadTooLarge(f"the uploaded file is larger than the limit of {limit} "
                                  "bytes (SWEEPD_MAX_DATASET_BYTES)")
        return upload
    if media[0] not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send the data set as multipart/form-data or as a raw body of one of "
            f"{', '.join(sorted(MEDIA_TYPES))} (got {media[0][:80]!r})")
    return Upload(data=await read_counted(request, limit), declared=MEDIA_TYPES[media[0]])


def split_multipart(body: bytes, boundary: str) -> Upload:
    """The `file` part (and short text fields) of a multipart/form-data body.

    Raises:
        InvalidSpec: no boundary, a malformed part, too many parts, or no `file` part.
    """
    if not boundary or len(boundary) > 200:
        raise _bad("the multipart body has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise _bad("the multipart body has no part")
    upload, pos = Upload(data=b""), start + len(delimiter)
    found_file = False
    for _ in range(MAX_PARTS + 1):
        if body.startswith(b"--", pos):
            break
        if not body.startswith(b"\r\n", pos):
            raise _bad("a multipart delimiter is not followed by a line break")
        head_end = body.find(b"\r\n\r\n", pos + 2, pos + 2 + MAX_PART_HEADERS)
        if head_end < 0:
            raise _bad("a multipart part's headers are missing or too long")
        headers = _part_headers(body[pos + 2:head_end])
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            raise _bad("the multipart body ends inside a part")
        content = body[head_end + 4:end]
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if name == "file":
            upload.data, upload.filename, found_file = content, filename, True
            part_type = headers.get_content_type()
            upload.declared = MEDIA_TYPES.get(part_type)
        elif isinstance(name, str) and len(content) <= MAX_FIELD:
            upload.fields[name] = content.decode("utf-8", "replace")
        pos = end + 2 + len(delimiter)
    else:
        raise _bad(f"the multipart body has more than {MAX_PARTS} parts")
    if not found_file:
        raise _bad("the multipart body has no part named 'file'")
    return upload


def _part_headers(raw: bytes) -> Message:
    message = Message()
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message[key.strip()] = value.strip()
    return message


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = header[:1024]
    params = {k.lower(): v for k, v in (message.get_params() or [])[1:]}
    return message.get_content_type(), params


def _bad(message: str) -> InvalidSpec:
    return InvalidSpec(message, errors=[{"loc": ["body"], "msg": message,
                                         "type": "multipart_invalid"}])
