"""Engine that asks an OPA server (or ``govchaos policy serve``) over OPA's REST Data API.

    engine = OpaEngine(url="http://127.0.0.1:8181", timeout_s=0.5)
    decision = await engine.decide(inp)   # POST /v1/data/govchaos/gateway/decision {"input": ...}

Goes through opa-python-client's ``AsyncOpaClient`` (aiohttp). Fail closed: a timeout is a deny
with ``policy_timeout``, a refused/reset connection ``policy_engine_unavailable``, an HTTP error
``policy_engine_error``, ``{}`` (undefined) ``policy_undefined``, and a result that is not a
decision ``policy_output_invalid``. Not cached by default: the policy lives in the server and can
change without this process knowing (``cache=True`` opts in; ``reload()`` clears it).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson

from governance.decision import DECISION_PATH, Decision, DecisionInput

from governance.engine.cache import DecisionCache
from governance.engine.protocol import (
    FAIL_CLOSED_PREFIXES,
    REASON_ERROR,
    REASON_TIMEOUT,
    REASON_UNAVAILABLE,
    canonical_input,
    decision_from_value,
)


class OpaEngine:
    kind = "opa"

    def __init__(
        self,
        bundle: Any = None,
        *,
        url: str = "http://127.0.0.1:8181",
        timeout_s: float = 1.0,
        token: str | None = None,
        cache: bool = False,
        cache_size: int = 10_000,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPA url must be http(s)://host:port, not {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 8181)
        self._ssl = parts.scheme == "https"
        self._token = token
        self._client: Any = None
        self._cache = DecisionCache(cache_size) if cache else None
        self._package, _, self._rule = DECISION_PATH.rpartition("/")

    async def _connected(self) -> Any:
        if self._client is None:
            from opa_client import create_opa_client

            client = create_opa_client(
                async_mode=True,
                host=self._host,
                port=self._port,
                ssl=self._ssl,
                token=self._token,
                retries=0,  # our own timeout bounds the decision; retries would exceed it
                timeout=self.timeout_s,
            )
            await client.__aenter__()
            self._client = client
        return self._client

    async def decide(self, inp: DecisionInput) -> Decision:
        """POST the input to OPA; never raises (fail closed)."""
        key = canonical_input(inp)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        try:
            client = await self._connected()
            body = await asyncio.wait_for(
                client.query_rule(orjson.loads(key), self._package, self._rule), self.timeout_s
            )
        except asyncio.TimeoutError:
            return Decision.deny(f"{REASON_TIMEOUT}: no answer from OPA at {self.url} within {self.timeout_s:g} s")
        except Exception as exc:
            return _translate(exc, self.url)
        decision = decision_from_value(body.get("result") if isinstance(body, dict) else None)
        if self._cache is not None and not _failed_closed(decision):
            self._cache.put(key, decision)
        return decision

    async def reload(self, bundle: Any = None) -> None:
        """The policy lives in OPA; reloading here only forgets cached decisions."""
        if self._cache is not None:
            self._cache.clear()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close_connection()

    async def __aenter__(self) -> "OpaEngine":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _failed_closed(decision: Decision) -> bool:
    return not decision.allow and decision.reasons[:1] != () and decision.reasons[0].startswith(
        FAIL_CLOSED_PREFIXES
    )


def _translate(exc: BaseException, url: str) -> Decision:
    import aiohttp

    if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError, OSError)):
        return Decision.deny(f"{REASON_UNAVAILABLE}: cannot reach OPA at {url}: {type(exc).__name__}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return Decision.deny(f"{REASON_ERROR}: OPA answered HTTP {exc.status}")
    return Decision.deny(f"{REASON_ERROR}: {type(exc).__name__}: {exc}"[:300])
