"""The runner's view of one request sent by the load generator.

The load generator has its own record type; :mod:`chaos.runner.stack` converts it into
:class:`RequestRecord`, whose times are seconds since the run started (monotonic clock), which
is what phases and fault windows are measured in.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestRecord(BaseModel):
    """One request as the client saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    sent_at_s: float
    ended_at_s: float
    route: str
    tenant: str
    data_classes: tuple[str, ...] = ()
    region: str | None = None  # residency requirement sent
    stream: bool = False
    status: int = 0  # 0: no HTTP response (connect error, client timeout)
    latency_ms: float = 0.0
    served_by: str | None = None  # X-Govchaos-Served-By (model id)
    upstream: str | None = None  # X-Govchaos-Upstream
    attempts: int = 0
    failovers: tuple[str, ...] = ()  # "upstream:reason"
    retry_after: bool | None = None  # a Retry-After header came back (None: not recorded)
    retry_after_s: float | None = None  # its value in seconds, when it came back
    error: str | None = None  # transport error or a stream that ended with an error event
    # Agent workflows (load.workflows): the workflow run, its type, the step and its try.
    workflow_id: str | None = None
    workflow: str | None = None
    step: str | None = None
    attempt: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None

    @property
    def graceful(self) -> bool:
        """A clear refusal the client can act on: a 503 or 429 that says when to retry.

        Without a Retry-After the client cannot tell "back off" from "broken", so a bare 503 or
        429 is not graceful; neither is one whose header was not recorded (no evidence).
        """
        return self.status in (429, 503) and (self.retry_after is True
                                                or self.retry_after_s is not None)
