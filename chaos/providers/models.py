"""Typed data of the simulated providers: specs (what to run) and request-log entries (what
happened). Everything here is a frozen pydantic model because it crosses module and process
boundaries (the fleet spec file, the ready file, the JSONL request logs read by the runner).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class LatencyProfile(BaseModel):
    """How long a healthy upstream takes.

    A non-streaming answer waits ``base_ms`` plus a uniform draw in ``[0, jitter_ms]``; a stream
    waits the same before its first chunk, then ``per_token_ms`` between content chunks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_ms: float = Field(0.0, ge=0, le=600_000)
    jitter_ms: float = Field(0.0, ge=0, le=600_000)
    per_token_ms: float = Field(0.0, ge=0, le=60_000)

    def first_byte_delay_s(self, rng: random.Random) -> float:
        """Seconds to wait before answering (0 when the profile is instantaneous)."""
        if self.base_ms == 0 and self.jitter_ms == 0:
            return 0.0
        jitter = rng.uniform(0.0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.base_ms + jitter) / 1000.0


class FaultSpec(BaseModel):
    """A fault kind by name and its parameters (``rate`` is shared by every kind)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class MockUpstreamSpec(BaseModel):
    """One simulated upstream: its name, the catalog model id it serves, where it listens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    model: str = Field(min_length=1, max_length=200)
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    latency: LatencyProfile = Field(default_factory=LatencyProfile)
    # The assistant message content of a normal answer; None means a small JSON object string
    # naming the upstream, so routes that validate a JSON response schema accept it.
    content: str | None = None
    seed: int = 0
    fault: FaultSpec | None = None
    log_file: str | None = None


class FleetSpec(BaseModel):
    """A set of upstreams hosted by one process (``python -m chaos.providers serve``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstreams: tuple[MockUpstreamSpec, ...] = Field(min_length=1)
    # Where each upstream's JSONL request log goes (``<log_dir>/<name>.jsonl``) unless the
    # upstream names its own ``log_file``.
    log_dir: str | None = None
    control_port: int = Field(0, ge=0, le=65535)


Outcome = str
"""What the upstream produced for a request: ``ok``, ``bad_request``, ``not_found`` or the name
of the fault kind that answered (``error_500``, ``hang``, ...)."""


class RequestLogEntry(BaseModel):
    """One request as the upstream received it: the ground truth for policy violations.

    Written when the request arrives (before any fault runs), so a request that then hangs,
    fails or is cut off by a kill is still here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    received_at: float  # time.time()
    received_mono: float  # time.monotonic(); system-wide on Linux, so comparable across processes
    upstream: str
    served_model: str  # the upstream's own catalog model id: what actually ran the request
    body_model: str | None = None  # what the caller asked for in the body's ``model``
    request_id: str | None = None  # X-Govchaos-Request-Id
    user: str | None = None  # body ``user`` (the load generator sends ``govchaos:<id>``)
    # Client request ids marked in the body (chaos.markers): the strongest attribution, since
    # the marker travels inside the client's own prompt.
    content_request_ids: tuple[str, ...] = ()
    # Carried markers (chaos.markers.carry): requests whose data an earlier answer, forwarded
    # into this request by an agent workflow step, still holds.
    content_carried_ids: tuple[str, ...] = ()
    # The start of the message text (user messages first), to recognise a client prompt whose
    # marker a gateway stripped; None when the body had no message text.
    content_excerpt: str | None = None
    probe_header: str | None = None  # X-Govchaos-Probe as received (recorded, never trusted)
    stream: bool = False
    method: str = "POST"
    path: str
    outcome: Outcome

    @property
    def govchaos_request_id(self) -> str | None:
        """The load generator's request id: the first content marker, else the header if
        forwarded, else from ``user`` (``govchaos:<id>``)."""
        if self.content_request_ids:
            return self.content_request_ids[0]
        if self.request_id:
            return self.request_id
        if self.user and self.user.startswith("govchaos:"):
            return self.user[len("govchaos:") :] or None
        return None


class UsageEntry(BaseModel):
    """What one upstream answered a chat completion with, in tokens: the ground truth of cost.

    Written when the answer has been sent (or cut off by a fault), beside the request's
    :class:`RequestLogEntry` (same ``upstream`` and ``received_mono``). An answer that carried no
    content (an error, a 429, a body that is not JSON) has no usage entry: nothing was generated.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    received_at: float  # time.time() when the request arrived (its RequestLogEntry's)
    received_mono: float  # links this entry to its RequestLogEntry
    answered_at: float  # time.time() when the answer was sent (or cut)
    upstream: str
    served_model: str
    request_id: str | None = None  # the load generator's request id (govchaos_request_id)
    stream: bool = False
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)  # content pieces the upstream actually sent
    # The answer carried an OpenAI ``usage`` object the caller could read: the body of a whole
    # non-streaming answer, or a stream's final usage chunk (``stream_options.include_usage``).
    usage_sent: bool
    complete: bool  # the whole answer went out (false: cut or truncated by a fault)


class UpstreamInfo(BaseModel):
    """Where a running upstream listens and what it is doing (ready file, control API)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    model: str
    url: str
    port: int
    state: Literal["stopped", "running", "killed"]
    fault: FaultSpec | None = None
    log_file: str | None = None
    requests: int = 0


class FleetReady(BaseModel):
    """Contents of the ready file the fleet process writes once every upstream listens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pid: int
    control_url: str
    upstreams: dict[str, UpstreamInfo]
