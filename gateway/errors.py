"""Errors of the reference gateway.

    GovchaosError
     └── GatewayError              stable ``code``; ``status`` is the HTTP status it renders as
          ├── ConfigError          the gateway config is invalid (exit 2, names file and field)
          ├── StartupError         the gateway could not start (port in use, dependency missing)
          └── RequestError         a client request cannot be served; rendered as OpenAI-style
               │                   JSON ``{"error": {"message","type","code","param"}}`` by
               │                   :func:`gateway.responses.error_body`, in one place
               ├── AuthenticationFailed   401 missing or unknown API key
               ├── PolicyDenied           403 the policy allowed no candidate (reasons attached)
               ├── BudgetExceeded         429 + Retry-After: the policy denied for a spent budget
               ├── UpstreamRejected       400/422 the upstream rejected the request; its body is
               │                          passed back unchanged (``status``, ``upstream_body``)
               ├── BadRequest             400 body is not JSON / headers malformed / unknown route
               │    └── LimitExceeded     400 a request limit (``limits.*``) exceeded; names it
               ├── BodyTooLarge           413 body over ``limits.max_body_bytes``
               ├── InvalidBody            422 JSON but not a chat-completions request
               ├── NotFound / MethodNotAllowed  404 / 405
               ├── PolicyUnavailable      503 the policy engine failed or timed out (fail closed)
               ├── NoUpstreamAvailable    503 + Retry-After: no allowed upstream could serve
               └── AuditUnavailable       503 the audit log refused the record (fail closed)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.errors import GovchaosError


class GatewayError(GovchaosError):
    code = "gateway_error"
    status: int = 500


class ConfigError(GatewayError):
    code = "invalid_config"
    exit_code = 2


class StartupError(GatewayError):
    code = "gateway_startup_failed"
    exit_code = 1


class RequestError(GatewayError):
    """A request-level failure; the app turns it into an HTTP error response."""

    status = 500
    type = "server_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        reasons: Sequence[str] = (),
        denied: Mapping[str, Sequence[str]] | None = None,
        retry_after_s: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.param = param
        self.reasons = tuple(reasons)
        self.denied = {k: tuple(v) for k, v in (denied or {}).items()}
        self.retry_after_s = retry_after_s
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The OpenAI-style error document (``reasons``/``denied`` only when present)."""
        err: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "param": self.param,
        }
        if self.reasons:
            err["reasons"] = list(self.reasons)
        if self.denied:
            err["denied"] = {k: list(v) for k, v in self.denied.items()}
        return {"error": err}


class AuthenticationFailed(RequestError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PolicyDenied(RequestError):
    status = 403
    type = "permission_error"
    code = "policy_denied"


class BudgetExceeded(RequestError):
    """The policy denied with a ``budget_exceeded:`` reason; Retry-After says when the budget's
    sliding window will have freed enough (gateway.budget)."""

    status = 429
    type = "rate_limit_error"
    code = "budget_exceeded"


class UpstreamRejected(RequestError):
    """The upstream answered 400/422: the same request would fail everywhere, so the client
    gets that answer (``upstream_body``, with the upstream's ``status``) instead of a failover."""

    type = "invalid_request_error"
    code = "upstream_rejected_request"

    def __init__(self, status: int, upstream_body: bytes, *,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__("the upstream rejected the request", headers=headers)
        self.status = status
        self.upstream_body = upstream_body


class BadRequest(RequestError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class LimitExceeded(BadRequest):
    """A client exceeded a configured request limit; the message names the ``limits.*`` key."""

    code = "limit_exceeded"


class BodyTooLarge(RequestError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class InvalidBody(RequestError):
    status = 422
    type = "invalid_request_error"
    code = "invalid_request_body"


class NotFound(RequestError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class MethodNotAllowed(RequestError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PolicyUnavailable(RequestError):
    status = 503
    type = "server_error"
    code = "policy_unavailable"


class NoUpstreamAvailable(RequestError):
    status = 503
    type = "server_error"
    code = "no_upstream_available"


class AuditUnavailable(RequestError):
    status = 503
    type = "server_error"
    code = "audit_unavailable"
