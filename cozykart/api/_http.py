"""Small pieces every HTTP route here shares."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse

from cozykart.domain.errors import CozyKartError, TooManyRequests


def error_response(
    status_code: int, reason: str, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A 4xx/5xx with a short reason a caller can act on: `{"error": reason}`."""
    return JSONResponse({"error": reason}, status_code=status_code, headers=dict(headers or {}))


def error_headers_for(error: CozyKartError) -> dict[str, str]:
    """The headers a refusal carries: `Retry-After` when it says when to try again."""
    return {"Retry-After": str(error.retry_after_s)} if isinstance(error, TooManyRequests) else {}


def error_response_for(error: CozyKartError, *, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The one answer to a refused request: the error's class gives the status, its message the body.

    `{"error": message}` with `error.http_status` (drawn in `cozykart.domain.errors`).
    """
    return error_response(
        error.http_status, error.message, headers={**error_headers_for(error), **(headers or {})}
    )


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
