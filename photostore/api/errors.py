"""Every error the API answers, in one JSON shape: ``{"error": {"code", "message", "details"}}``.

Handlers map failures of a dependency (PostgreSQL, Redis, S3, Kafka) to 503 with the
dependency's name, validation failures to 422, and anything unexpected to a 500 that says
nothing about internals.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg.errors
import psycopg_pool
import redis.exceptions
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error answered to the client as-is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


class DependencyUnavailableError(ApiError):
    """A backing service did not answer; the client may retry later."""

    def __init__(self, dependency: str) -> None:
        super().__init__(
            503,
            "dependency_unavailable",
            f"{dependency} is unavailable; try again later",
            details={"dependency": dependency},
            headers={"Retry-After": "5"},
        )


def not_found(what: str = "photo") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    return error_response(422, "validation_error", "request is not valid", details)


def _dependency(name: str) -> Any:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        log.warning("%s unavailable: %s", name, type(exc).__name__)
        err = DependencyUnavailableError(name)
        return error_response(err.status, err.code, err.message, err.details, err.headers)

    return handler


async def _invalid_value(_: Request, exc: Exception) -> JSONResponse:
    # Input that passed validation but that PostgreSQL refuses (NUL bytes, odd Unicode).
    return error_response(400, "invalid_value", "a value in the request cannot be stored")


async def _account_gone(_: Request, exc: Exception) -> JSONResponse:
    # A write for a user deleted while the request was in flight.
    return error_response(401, "unauthorized", "the account no longer exists")


async def _internal(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(psycopg.errors.ForeignKeyViolation, _account_gone)
    app.add_exception_handler(psycopg.DataError, _invalid_value)
    app.add_exception_handler(UnicodeEncodeError, _invalid_value)
    app.add_exception_handler(psycopg.OperationalError, _dependency("PostgreSQL"))
    app.add_exception_handler(psycopg_pool.PoolTimeout, _dependency("PostgreSQL"))
    app.add_exception_handler(redis.exceptions.ConnectionError, _dependency("Redis"))
    app.add_exception_handler(redis.exceptions.TimeoutError, _dependency("Redis"))
    # A Redis Cluster during a failover: no node for a slot, cluster down, try again.
    app.add_exception_handler(redis.exceptions.RedisClusterException, _dependency("Redis"))
    app.add_exception_handler(redis.exceptions.ClusterError, _dependency("Redis"))
    app.add_exception_handler(redis.exceptions.TryAgainError, _dependency("Redis"))
    app.add_exception_handler(BotoCoreError, _dependency("S3"))
    # Object keys are ours, never the client's: any S3 error (missing bucket, denied,
    # 5xx) is a deployment or availability problem, not bad input.
    app.add_exception_handler(ClientError, _dependency("S3"))
    app.add_exception_handler(Exception, _internal)


# Documented on every route, so clients and schemathesis know the shape of each error.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Missing or invalid credentials",
        403: "The account is disabled",
        404: "Not found (or not yours)",
        422: "Invalid parameters",
        409: "Conflicts with the current state",
        429: "Rate limited; see Retry-After",
        503: "A dependency is unavailable",
    }.items()
}
