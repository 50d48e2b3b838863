"""Small pieces every HTTP route here shares."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


def error_response(status_code: int, reason: str) -> JSONResponse:
    """A 4xx/5xx with a short reason a caller can act on: `{"error": reason}`."""
    return JSONResponse({"error": reason}, status_code=status_code)


async def read_body_capped(request: Request, bytes_max: int) -> bytes | None:
    """The raw body, or None when it is larger than `bytes_max` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > bytes_max:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > bytes_max:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
