"""Errors of the fault proxy, in two families.

    ChaosError
     └── FaultProxyError             stable ``code``; ``status`` is the HTTP status it maps to
          ├── ApiError               raised inside the embedded server, rendered as
          │                          ``{"error": message, "status": status}`` (Toxiproxy's body)
          └── ProxyControlError      raised by :class:`~chaos.proxy.control.ProxyControl` when a
               │                     Toxiproxy-compatible server answers with an error
               ├── ProxyNotFoundError      404
               ├── ProxyConflictError      409
               ├── ProxyBadRequestError    400
               └── ProxyUnreachableError   the API could not be reached at all

The table of API errors mirrors Toxiproxy's (message, status) pairs so that clients written for
Toxiproxy see the same texts and codes.
"""

from __future__ import annotations

from chaos.errors import ChaosError


class FaultProxyError(ChaosError):
    code = "fault_proxy_error"
    status: int = 500

    def __init__(self, message: str, *, status: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        if status is not None:
            self.status = status


class ApiError(FaultProxyError):
    """An error the embedded API answers with; ``detail`` is appended like Toxiproxy's joinError."""

    code = "fault_proxy_api_error"

    def with_detail(self, detail: str) -> ApiError:
        return ApiError(f"{self.message}: {detail}", status=self.status, code=self.code)


# Toxiproxy's error table (message, status).
BAD_REQUEST_BODY = ApiError("bad request body", status=400)
MISSING_FIELD = ApiError("missing required field", status=400)
PROXY_NOT_FOUND = ApiError("proxy not found", status=404)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", status=409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", status=400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", status=400)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", status=409)
TOXIC_NOT_FOUND = ApiError("toxic not found", status=404)
ROUTE_NOT_FOUND = ApiError("not found", status=404)
METHOD_NOT_ALLOWED = ApiError("method not allowed", status=405)
BROWSER_FORBIDDEN = ApiError("User agent not allowed", status=403)


class ProxyControlError(FaultProxyError):
    code = "fault_proxy_control_error"
    exit_code = 2


class ProxyNotFoundError(ProxyControlError):
    code = "fault_proxy_not_found"
    status = 404


class ProxyConflictError(ProxyControlError):
    code = "fault_proxy_conflict"
    status = 409


class ProxyBadRequestError(ProxyControlError):
    code = "fault_proxy_bad_request"
    status = 400


class ProxyUnreachableError(ProxyControlError):
    code = "fault_proxy_unreachable"
    status = 503


def control_error_for(status: int, message: str) -> ProxyControlError:
    """Map an HTTP status answered by a Toxiproxy-compatible API to the matching error."""
    kind = {404: ProxyNotFoundError, 409: ProxyConflictError, 400: ProxyBadRequestError}.get(
        status, ProxyControlError
    )
    return kind(message, status=status)
