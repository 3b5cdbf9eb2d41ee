"""The one exception the routes raise, rendered as an OpenAI-style error body."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from offchain.gateway.openai_schema import error_body

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error with an OpenAI-style body ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            error_body(self.message, self.type, param=self.param, code=self.code),
            status_code=self.status,
            headers=self.headers,
        )


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown route, wrong method) in the same format."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return ApiError(exc.status_code, str(exc.detail), code=code).response()


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error path=%s", request.url.path)
    return ApiError(
        500,
        "The gateway failed to serve this request.",
        type_="server_error",
        code="internal_error",
    ).response()
