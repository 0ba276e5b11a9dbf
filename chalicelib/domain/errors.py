"""Typed errors raised by domain rules and services; handlers map them to HTTP in one place.

Every error carries a stable UPPER_SNAKE ``code`` and a Chinese ``message`` that tells the user what to do
next. The HTTP status is a property of the error class, never chosen by matching text.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user may see. Subclasses fix the HTTP status."""

    status = 400
    default_code = "BAD_REQUEST"
    default_message = "请求有误"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(f"{self.code}: {self.message}")


class BadRequest(DomainError):
    status = 400
    default_code = "BAD_REQUEST"
    default_message = "请求格式有误，请检查后重试"


class Unauthorized(DomainError):
    status = 401
    default_code = "UNAUTHORIZED"
    default_message = "请先登录"


class Forbidden(DomainError):
    status = 403
    default_code = "FORBIDDEN"
    default_message = "无权执行此操作"


class NotFound(DomainError):
    status = 404
    default_code = "NOT_FOUND"
    default_message = "资源不存在"


class Conflict(DomainError):
    status = 409
    default_code = "CONFLICT"
    default_message = "当前状态不允许此操作"


class Invalid(DomainError):
    """Validation failure. ``fields`` maps a dotted field path to a Chinese explanation."""

    status = 422
    default_code = "VALIDATION_FAILED"
    default_message = "提交的内容未通过校验，请按提示修改"

    def __init__(
        self,
        fields: dict[str, str],
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(code=code, message=message, details={"fields": fields})
        self.fields = fields


class RateLimited(DomainError):
    status = 429
    default_code = "RATE_LIMITED"
    default_message = "操作过于频繁，请稍后再试"

    def __init__(
        self,
        retry_after_s: int,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        retry_after_s = max(1, int(retry_after_s))
        super().__init__(
            code=code,
            message=message,
            details={"retry_after_s": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s


class ServiceUnavailable(DomainError):
    """A dependency is down; safe to retry."""

    status = 503
    default_code = "SERVICE_UNAVAILABLE"
    default_message = "服务暂时不可用，请稍后重试"
