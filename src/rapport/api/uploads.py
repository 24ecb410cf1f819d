"""The file part of a multipart/form-data upload, read chunk by chunk as it arrives.

Starlette's form parsing spools whole files before the route runs; this reads the request
stream through python-multipart's push parser instead, so the service can count, hash,
sniff and refuse bytes while they are still coming in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from rapport.domain.errors import Invalid

PREAMBLE_LIMIT = 64 * 1024
"""Bytes allowed before the file part starts (other form fields, part headers)."""


class MultipartFile:
    """The first part with a filename; other parts are ignored."""

    def __init__(self, request: Request) -> None:
        kind, params = parse_options_header(request.headers.get("content-type", ""))
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise Invalid("Send the file as multipart/form-data, in a part named file.", code="multipart_required")
        self.name = ""
        self._stream = request.stream().__aiter__()
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = self._seen = self._done = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    async def start(self) -> str:
        """Read up to the file part's headers; returns the file name it gives."""
        received = 0
        while not self._seen:
            chunk = await self._next()
            if chunk is None:
                raise Invalid("The form has no file part.", code="file_required")
            received += len(chunk)
            if not self._seen and received > PREAMBLE_LIMIT:
                raise Invalid("The file part must come first in the form.", code="file_required")
        return self.name

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, as they arrive."""
        while True:
            pending, self._pending = self._pending, []
            for data in pending:
                yield data
            if self._done:
                return
            if await self._next() is None:
                raise Invalid("The upload ended before the file did.", code="bad_multipart")

    async def _next(self) -> bytes | None:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            return None
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise Invalid("The multipart body is malformed.", code="bad_multipart") from exc
        if not chunk and not self._done:  # Starlette's stream ends with an empty chunk
            return None
        return chunk

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if self._seen or b"filename" not in params:
            return
        self._in_file = self._seen = True
        self.name = params[b"filename"].decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._done = True
