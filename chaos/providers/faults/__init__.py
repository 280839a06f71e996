"""Provider fault kinds, one module each, registered here in one place.

=================  =========================================================================
kind               effect (every kind also takes ``rate``: probability 0..1, default 1)
=================  =========================================================================
error_500          OpenAI-style 5xx error (``status_code``, default 500)
rate_limit_429     429 with ``Retry-After: retry_after_s``
malformed_json     200 whose body / stream chunk is not JSON
truncated_json     200 whose JSON stops half way (stream: no ``[DONE]``)
empty_content      well-formed answer with ``""`` content
schema_violation   well-formed answer whose content is not the route's JSON (``content``)
slow_stream        ``per_token_ms`` between stream chunks
hang               no answer until the fault is cleared (then a normal answer)
stream_cut         connection reset after ``after_chunks`` content chunks
=================  =========================================================================
"""

from __future__ import annotations

from chaos.providers.faults.base import ActiveFault, FaultBehaviour, NoParams
from chaos.providers.faults.empty_content import EmptyContent
from chaos.providers.faults.error_500 import Error500, UpstreamError500Params
from chaos.providers.faults.hang import Hang
from chaos.providers.faults.malformed_json import MalformedJson
from chaos.providers.faults.rate_limit_429 import RateLimit429, RateLimitParams
from chaos.providers.faults.registry import UpstreamFaultKind, UpstreamFaultRegistry
from chaos.providers.faults.schema_violation import SchemaViolation, SchemaViolationParams
from chaos.providers.faults.slow_stream import SlowStream, SlowStreamParams
from chaos.providers.faults.stream_cut import StreamCut, StreamCutParams
from chaos.providers.faults.truncated_json import TruncatedJson

__all__ = [
    "FAULTS",
    "ActiveFault",
    "FaultBehaviour",
    "UpstreamFaultKind",
    "UpstreamFaultRegistry",
    "default_registry",
]


def default_registry() -> UpstreamFaultRegistry:
    """A registry holding every shipped provider fault kind."""
    registry = UpstreamFaultRegistry()
    for kind in (
        UpstreamFaultKind("error_500", UpstreamError500Params, Error500, "OpenAI-style 5xx error"),
        UpstreamFaultKind("rate_limit_429", RateLimitParams, RateLimit429, "429 with Retry-After"),
        UpstreamFaultKind("malformed_json", NoParams, MalformedJson, "body is not JSON"),
        UpstreamFaultKind("truncated_json", NoParams, TruncatedJson, "JSON stops half way"),
        UpstreamFaultKind("empty_content", NoParams, EmptyContent, "empty message content"),
        UpstreamFaultKind(
            "schema_violation", SchemaViolationParams, SchemaViolation, "content not route JSON"
        ),
        UpstreamFaultKind("slow_stream", SlowStreamParams, SlowStream, "slow tokens"),
        UpstreamFaultKind("hang", NoParams, Hang, "never answers until cleared"),
        UpstreamFaultKind("stream_cut", StreamCutParams, StreamCut, "connection reset mid-response"),
    ):
        registry.register(kind)
    return registry


FAULTS = default_registry()
