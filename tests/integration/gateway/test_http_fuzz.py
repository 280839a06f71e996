"""Fuzzing the gateway's HTTP surface (bounded hypothesis runs): random bodies, headers,
methods and paths against the ASGI app in-process, and random bytes and malformed requests
over a real socket. Never a 500, never an exception out of the app, never a dead server; a
request rejected as the client's mistake leaves no audit record and reaches no upstream.

The gateway, a mock upstream and the fake policy run in a background event loop for the whole
module (as in test_policy_property.py); each example is one request. The number of inputs run
is printed (``-s``) and asserted, so a strategy that stops generating fails the test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import orjson
from conftest import API_KEY, RulePolicy, make_config, run_gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mock_upstream import MockUpstream

M1 = "llama-3.1-70b-private-eu"
M2 = "gpt-4o-cloud-eu"
IN_PROCESS_EXAMPLES = 1500
SOCKET_EXAMPLES = 150
OK_STATUSES = {200, 400, 401, 403, 404, 405, 408, 413, 422, 431, 503}
CLIENT_ERRORS = {400, 401, 404, 405, 413, 422}  # rejected before any decision


class Harness:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),),
                                       daemon=True)
        # PII only on the private model; cloud only without PII
        self.policy = RulePolicy(lambda inp, c: c.id == M1 or "pii" not in inp.data_classes)

    async def _main(self) -> None:
        try:
            self.stop = asyncio.Event()
            self.private = await MockUpstream("private").start()
            self.cloud = await MockUpstream("cloud").start()
            cfg = make_config([("cloud", self.cloud, M2), ("private", self.private, M1)],
                              max_body_bytes=262_144, limits={
                                  "header_timeout_ms": 150, "body_timeout_ms": 150,
                                  "keepalive_timeout_ms": 100, "max_header_bytes": 8192})
            async with run_gateway(cfg, self.policy) as gw:
                self.gw = gw
                self.app = gw.runtime.app
                self.port = int(gw.url.rsplit(":", 1)[1])
                self.ready.set()
                await self.stop.wait()
            await self.private.stop()
            await self.cloud.stop()
        finally:
            self.ready.set()

    def __enter__(self) -> "Harness":
        self.thread.start()
        assert self.ready.wait(20) and hasattr(self, "app")
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)

    def run(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


async def asgi_call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
                    chunks: list[bytes]) -> tuple[int, bytes]:
    """One request through the ASGI app in-process; returns (status, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
             "scheme": "http", "root_path": ""}
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
               for i, c in enumerate(chunks)] or [{"type": "http.request", "body": b""}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent and sent[0]["type"] == "http.response.start", sent
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


# -- strategies --------------------------------------------------------------------------------
json_leaf = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3)
                          | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=12)
words = st.sampled_from(["pii", "public", "phi", "internal", "", " ", "PII", "p,i", "eu", "us",
                         "r", "nope", "a" * 70, "x:y", "\u00e9t\u00e9", "\x00"])
part = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]) | json_value},
                             optional={"text": st.text(max_size=10) | json_value})
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "developer", "wizard"])
     | json_value},
    optional={"content": st.text(max_size=20) | st.lists(part, max_size=3) | json_value,
              "name": st.text(max_size=5) | json_value})
metadata = st.fixed_dictionaries({}, optional={
    "route": st.sampled_from(["r", "nope", ""]) | json_value,
    "data_classes": st.lists(words, max_size=4) | words | json_value,
    "region": words | json_value,
})
chat_body = st.fixed_dictionaries(
    {"messages": st.lists(message, max_size=4) | json_value},
    optional={"model": st.sampled_from(["auto", M1, M2]) | json_value,
              "stream": st.booleans() | json_value,
              "max_tokens": st.integers(-5, 10**12) | json_value,
              "user": st.text(max_size=8) | json_value,
              "metadata": metadata | json_value,
              "tools": json_value})


@st.composite
def raw_body(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["chat", "chat", "chat", "duplicate", "deep", "truncated",
                                 "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    ascii_only = draw(st.booleans())  # \u escapes or raw UTF-8 (lone surrogates: invalid UTF-8)

    def dump(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")

    if kind == "json":
        return dump(draw(json_value))
    raw = dump(draw(chat_body))
    if kind == "duplicate":  # repeat a key at the top level
        key = draw(st.sampled_from([b'"messages"', b'"model"', b'"metadata"', b'"stream"']))
        return b"{" + key + b": 1, " + raw[1:] if raw != b"{}" else raw
    if kind == "deep":  # one value nested 1..1100 deep (orjson reads ≤ 1024, writes ≤ 254)
        n = draw(st.integers(1, 1100))
        return raw[:-1] + b', "deep": ' + b"[" * n + b"]" * n + b"}"
    if kind == "truncated":
        return raw[:draw(st.integers(0, max(0, len(raw) - 1)))]
    return raw


header_name = st.sampled_from([b"x-govchaos-route", b"x-govchaos-data-classes",
                               b"x-govchaos-region", b"x-govchaos-request-id", b"authorization",
                               b"content-length", b"content-type", b"x-other"])
header_value = (words.map(lambda w: w.encode("utf-8"))
                | st.lists(words, min_size=1, max_size=6).map(lambda ws: ",".join(ws).encode("utf-8"))
                | st.binary(max_size=24))
auth = st.sampled_from([[(b"authorization", b"Bearer " + API_KEY.encode())]] * 4 + [
    [], [(b"authorization", b"Bearer nope")], [(b"authorization", b"Basic x")],
    [(b"authorization", b"Bearer " + API_KEY.encode()), (b"authorization", b"Bearer other")]])
target = st.sampled_from([("POST", "/v1/chat/completions")] * 8 + [
    ("GET", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/healthz"),
    ("POST", "/readyz"), ("GET", "/metrics"), ("PUT", "/nope"), ("GET", "/v1/models/x")])


@st.composite
def chunked(draw: st.DrawFn, raw: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=3)))
    bounds = [0, *cuts, len(raw)]
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


def test_asgi_app_never_500s_on_random_requests(capsys) -> None:
    counted = {"n": 0, "by_status": {}}
    with Harness() as h:

        @given(target=target, auth=auth, headers=st.lists(st.tuples(header_name, header_value),
                                                          max_size=5),
               data=st.data())
        @settings(max_examples=IN_PROCESS_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(target: tuple[str, str], auth: list, headers: list, data: st.DataObject) -> None:
            method, path = target
            raw = data.draw(raw_body())
            chunks = data.draw(chunked(raw))
            events_before = len(h.gw.audit.events)
            logs_before = len(h.private.log) + len(h.cloud.log)
            cloud_before = len(h.cloud.log)
            status, body = h.run(asgi_call(h.app, method, path, [*auth, *headers], chunks))
            counted["n"] += 1
            counted["by_status"][status] = counted["by_status"].get(status, 0) + 1
            assert status in OK_STATUSES, (status, body[:300])
            if status >= 400 and path == "/v1/chat/completions":
                err = orjson.loads(body)["error"]
                assert {"message", "type", "code", "param"} <= set(err)
            if status in CLIENT_ERRORS:
                assert len(h.gw.audit.events) == events_before
                assert len(h.private.log) + len(h.cloud.log) == logs_before
            if status == 200 and path == "/v1/chat/completions":
                # never PII on the cloud model, whatever the declarations looked like
                decision = h.gw.audit.kinds("decision")[-1]
                if "pii" in decision["input"]["data_classes"]:
                    assert len(h.cloud.log) == cloud_before

        check()
        # every 200 on the cloud model came from a decision without PII
        decisions = {e["decision_id"]: e for e in h.gw.audit.kinds("decision")}
        for e in h.gw.audit.kinds("attempt"):
            if e["model"] == M2:
                assert "pii" not in decisions[e["decision_id"]]["input"]["data_classes"]
    with capsys.disabled():
        print(f"\nHTTP fuzz (in-process ASGI): {counted['n']} inputs, by status "
              f"{dict(sorted(counted['by_status'].items()))}")
    assert counted["n"] >= IN_PROCESS_EXAMPLES * 0.9
    assert counted["by_status"].get(200, 0) > 0 and counted["by_status"].get(400, 0) > 0


# -- over a real socket ---------------------------------------------------------------------
@st.composite
def raw_request(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["request", "request", "request", "bytes", "head_only"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    method = draw(st.sampled_from([b"POST", b"GET", b"PUT", b"P\x00ST", b""]))
    path = draw(st.sampled_from([b"/v1/chat/completions", b"/healthz", b"/%ff", b"*", b"/a b"]))
    lines = [method + b" " + path + b" " + draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0",
                                                                 b"HTTP/9", b""]))]
    lines.append(b"host: gw")
    lines.append(b"authorization: Bearer " + API_KEY.encode())
    for name, value in draw(st.lists(st.tuples(header_name | st.binary(min_size=1, max_size=10),
                                               header_value), max_size=4)):
        lines.append(name + b": " + value)
    body = draw(raw_body())
    framing = draw(st.sampled_from(["length", "length", "chunked", "wrong_length", "none"]))
    if framing == "length":
        lines.append(b"content-length: %d" % len(body))
    elif framing == "wrong_length":
        lines.append(b"content-length: " + draw(st.sampled_from(
            [b"-1", b"abc", b"99999999999999999999", b"%d" % (len(body) + 5)])))
    elif framing == "chunked":
        lines.append(b"transfer-encoding: chunked")
        body = (b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    if kind == "head_only":
        return head[:draw(st.integers(0, len(head)))]
    return head + body


def first_status(port: int, data: bytes) -> int | None:
    """Send ``data``; the status of the first answer, or None if closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        try:
            s.sendall(data)
        except OSError:
            return None
        got = b""
        deadline = time.monotonic() + 3
        while b"\r\n\r\n" not in got and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
    if not got:
        return None
    assert got.startswith(b"HTTP/1.1 "), got[:80]
    status = int(got.split(b" ", 2)[1])
    head = got.partition(b"\r\n\r\n")[0].lower()
    if status >= 400 and b"\r\n\r\n" in got:  # every error is the gateway's error JSON
        assert b"content-type: application/json" in head, got[:300]
    return status


def test_server_never_500s_or_dies_on_random_bytes(capsys) -> None:
    counted = {"n": 0, "by_status": {}}
    with Harness() as h:

        @given(data=raw_request())
        @settings(max_examples=SOCKET_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(data: bytes) -> None:
            status = first_status(h.port, data)
            counted["n"] += 1
            counted["by_status"][status] = counted["by_status"].get(status, 0) + 1
            assert status is None or status in OK_STATUSES, (status, data[:200])

        check()
        assert first_status(h.port, b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n") == 200
    with capsys.disabled():
        print(f"\nHTTP fuzz (real socket): {counted['n']} inputs, by status "
              f"{dict(sorted(counted['by_status'].items(), key=str))}")
    assert counted["n"] >= SOCKET_EXAMPLES * 0.9
