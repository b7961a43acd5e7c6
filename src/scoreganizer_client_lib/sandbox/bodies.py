"""Request bodies, read the way the protocol sends them.

Each endpoint takes one body type (login: a form; upload: multipart; the rest:
none) and refuses any other before reading a byte. A body is read into memory
as it streams in and cut off at the endpoint's cap, whether or not it declared
a ``Content-Length``; nothing is ever spooled to disk. Parsing the bytes is
left to the caller's worker thread, so the event loop only moves them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .._request_body import BodyTooLarge, read_capped
from ..digits import ascii_int
from ..exceptions import ErrorCode
from .errors import SandboxError

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

#: Cap of a login form (a user name and a password, URL-encoded).
MAX_FORM_BYTES = 8 * 1024
#: Past every cap: a larger declared length is read as this one plus one.
MAX_DECLARED_LENGTH = 2**40
#: Room in an upload body for the multipart framing and the ``mime_type`` field.
MULTIPART_OVERHEAD = 64 * 1024
#: More parts than this in an upload is not a client of the protocol.
MAX_PARTS = 8
#: Form fields: more than this is not a login.
MAX_FIELDS = 8


def refused(status: int, reason: str) -> SandboxError:
    """A refused body (``invalid_data``); the connection is closed after the
    answer, so an unread rest of the body is never waited for."""
    return SandboxError(ErrorCode.INVALID_DATA, status, reason=reason, close_connection=True)


def _media_type(request: Request) -> tuple[str, dict[bytes, bytes]]:
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    return kind.decode("latin-1").lower(), params


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    length = ascii_int(declared, MAX_DECLARED_LENGTH)
    if length is None:
        raise refused(400, "Content-Length is not a number")
    return length


async def require_no_body(request: Request) -> None:
    """Refuse a body where the protocol sends none (an empty one is fine)."""
    declared = _declared_length(request)
    if (declared or 0) > 0 or "transfer-encoding" in request.headers:
        raise refused(413, "this endpoint takes no body")


async def read_body(
    request: Request, media_type: str, limit: int
) -> tuple[bytes, dict[bytes, bytes]]:
    """The body of a ``media_type`` request, at most ``limit`` bytes, and the
    content type's parameters. Refused with HTTP 415 for another type, 400
    for a ``Content-Length`` that is not a number and 413 past the limit,
    before reading more than the limit (``_request_body.read_capped``)."""
    kind, params = _media_type(request)
    if kind != media_type:
        raise refused(415, f"expected a {media_type} body")
    _declared_length(request)  # a Content-Length that is not a number is refused
    try:
        body = await read_capped(request, limit)
    except BodyTooLarge:
        raise refused(413, f"the body is limited to {limit} bytes") from None
    except ClientDisconnect:
        raise refused(400, "the client went away mid-body") from None
    return body, params


def parse_form(body: bytes) -> dict[str, str]:
    """The fields of a URL-encoded form (UTF-8; the first of repeated names)."""
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError as exc:  # UnicodeDecodeError is one
        raise refused(400, f"unreadable form: {exc}") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


#: Longest file name kept for an upload (its end, where the extension is).
MAX_FILE_NAME = 255


def file_name(raw: bytes) -> str:
    """The name a client gave an uploaded file, as the sandbox keeps it: UTF-8
    (bad bytes replaced), its last path component, no control or format
    characters (line breaks, NUL, bidirectional overrides), at most
    :data:`MAX_FILE_NAME` characters; ``replay`` if nothing is left."""
    name = raw.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))
    return name.strip()[-MAX_FILE_NAME:] or "replay"


@dataclass(frozen=True)
class Upload:
    """What ``scores/upload`` carries: the file part ``video`` (its file name
    and bytes) and the field ``mime_type``."""

    filename: str
    mime_type: str
    content: bytes


@dataclass
class _Part:
    headers: dict[bytes, bytes]
    data: bytearray


def parse_upload(body: bytes, params: dict[bytes, bytes], max_file_bytes: int) -> Upload:
    """Parse an upload's multipart body (``params``: its content type's)."""
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise refused(400, "multipart body without a boundary")
    parts: list[_Part] = []
    header: list[bytes] = [b"", b""]
    ended: list[bool] = []

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise refused(400, f"more than {MAX_PARTS} parts")
        parts.append(_Part({}, bytearray()))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[header[0].lower()] = header[1]
        header[:] = [b"", b""]

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_end": lambda: ended.append(True),
        },
    )
    try:
        parser.write(body)
    except ValueError as exc:  # python-multipart's parse errors are ValueErrors
        raise refused(400, f"unreadable multipart body: {exc}") from None
    if not ended:
        raise refused(400, "the multipart body ends before its closing boundary")

    video: _Part | None = None
    video_name = "replay"
    mime_type = None
    for part in parts:
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        name = disposition.get(b"name")
        if name == b"video" and b"filename" in disposition and video is None:
            video = part
            video_name = file_name(disposition[b"filename"])
        elif name == b"mime_type" and b"filename" not in disposition and mime_type is None:
            try:
                mime_type = bytes(part.data).decode("utf-8")
            except UnicodeDecodeError:
                raise refused(400, "mime_type is not UTF-8") from None
    if video is None or mime_type is None:
        raise refused(400, "expected the file part 'video' and the field 'mime_type'")
    if len(video.data) > max_file_bytes:
        raise refused(413, f"uploads are limited to {max_file_bytes} bytes")
    return Upload(video_name, mime_type, bytes(video.data))
