r"""What a client sends, checked before any decision: headers, the JSON body, the request shape.

Everything a chat request carries is validated here, so that a client mistake is a 4xx with a
stable code and never reaches the policy, the audit log or an upstream — and the router gets a
typed :class:`ChatRequest` it does not re-check:

    head = read_head(scope["headers"])        # one pass over the headers
    req = parser.parse(head, raw_body, tenant)  # body + declarations → ChatRequest

Rules (docs/gateway.md, "Request validation"):

- the body is strict JSON: UTF-8, no NaN, no duplicate key (``duplicate_key``), nesting at
  most ``limits.max_json_depth`` for the *whole* body (``limit_exceeded``) — one depth limit,
  well inside what the upstream re-encoding (orjson, 254 levels) can write;
- the OpenAI chat shape: ``model`` a string, ``messages`` a non-empty array (at most
  ``limits.max_messages``) of objects with a known ``role`` and ``content`` that is a string,
  null or an array of typed parts; ``stream`` a boolean; ``max_tokens`` a positive integer;
  ``user`` a string; ``metadata`` an object — otherwise 422 ``invalid_request_body``;
- declarations are never last-one-wins. Data classes are the **union** of every
  ``X-Govchaos-Data-Classes`` header and ``metadata.data_classes`` (at most
  ``limits.max_data_classes`` declared); route, region and request id are single-valued: every
  header instance and the body field must agree, or it is 400 ``conflicting_declaration``.
  A malformed value (an empty item as in ``pii,,phi``, upper case, other characters) is 400
  ``invalid_header`` (header) / 422 (body); an empty data-classes header is the empty list
  (it adds nothing to the union, so it can never remove a class declared elsewhere).

The strict JSON parse (duplicate keys, depth) is :mod:`gateway.json_body`'s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.config import LimitsConfig
from gateway.errors import BadRequest, InvalidBody, LimitExceeded
from gateway.json_body import parse_json_body, short_repr

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MAX_MODEL_CHARS = 256

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_DATA_CLASS = re.compile(r"[a-z0-9][a-z0-9._\-]{0,63}")
_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
_WORKFLOW_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,127}")


@dataclass(slots=True)
class ChatRequest:
    """One validated chat request (built by :meth:`ChatRequestParser.parse`; not re-checked)."""

    request_id: str
    tenant: str
    route: str
    body: dict[str, Any]
    data_classes: tuple[str, ...] = ()
    region: str | None = None
    stream: bool = False
    t0: float = field(default_factory=time.perf_counter)
    # Agent workflows: X-Govchaos-Workflow-Id and X-Govchaos-Step (``<workflow>/<step>``),
    # recorded in audit records and the per-step outcome metric; never used for decisions.
    workflow_id: str | None = None
    step: str | None = None
    # The split route's sticky key (``routes.<r>.sticky``: the body's ``user`` or a header);
    # None when the route has no stickiness or the request carries no such key.
    sticky: str | None = None


@dataclass(slots=True)
class RequestHead:
    """The headers the gateway reads, every instance kept (latin-1 decoded where textual)."""

    authorization: bytes | None = None
    content_length: bytes | None = None
    routes: tuple[str, ...] = ()
    data_classes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    request_ids: tuple[str, ...] = ()
    workflow_ids: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    raw: Sequence[tuple[bytes, bytes]] = ()  # every header, for a route's sticky header


def read_head(headers: Sequence[tuple[bytes, bytes]]) -> RequestHead:
    """The headers the gateway reads, every instance of each (ASGI names are lower-case).

    Raises:
        BadRequest: two different ``Authorization`` headers (``conflicting_declaration``).
    """
    by_name = dict(headers)
    if len(by_name) == len(headers):  # no header repeated: the common case, C speed
        get = by_name.get
        r, c, g, i = (get(b"x-govchaos-route"), get(b"x-govchaos-data-classes"),
                      get(b"x-govchaos-region"), get(b"x-govchaos-request-id"))
        return RequestHead(
            get(b"authorization"), get(b"content-length"),
            () if r is None else (r.decode("latin-1"),),
            () if c is None else (c.decode("latin-1"),),
            () if g is None else (g.decode("latin-1"),),
            () if i is None else (i.decode("latin-1"),),
            *_workflow_headers(get(b"x-govchaos-workflow-id"), get(b"x-govchaos-step")),
            headers,
        )
    auths = {v for k, v in headers if k == b"authorization"}
    if len(auths) > 1:
        raise BadRequest("two different Authorization headers", param="Authorization",
                         code="conflicting_declaration")

    def every(name: bytes) -> tuple[str, ...]:
        return tuple(v.decode("latin-1") for k, v in headers if k == name)

    return RequestHead(
        by_name.get(b"authorization"), by_name.get(b"content-length"),
        every(b"x-govchaos-route"), every(b"x-govchaos-data-classes"),
        every(b"x-govchaos-region"), every(b"x-govchaos-request-id"),
        every(b"x-govchaos-workflow-id"), every(b"x-govchaos-step"), headers,
    )


def _workflow_headers(w: bytes | None, s: bytes | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (() if w is None else (w.decode("latin-1"),),
            () if s is None else (s.decode("latin-1"),))




def _check_messages(messages: Any, max_messages: int) -> None:
    if type(messages) is not list or not messages:
        raise InvalidBody("`messages` must be a non-empty array", param="messages")
    if len(messages) > max_messages:
        raise LimitExceeded(f"{len(messages)} messages: more than limits.max_messages "
                            f"({max_messages})", param="messages")
    for i, m in enumerate(messages):
        if type(m) is not dict:
            raise InvalidBody("each message must be an object", param=f"messages.{i}")
        role = m.get("role")
        if type(role) is not str or role not in ROLES:
            raise InvalidBody(f"each message needs a `role`, one of {', '.join(sorted(ROLES))}",
                              param=f"messages.{i}.role")
        content = m.get("content")
        if content is None or type(content) is str:
            pass
        elif type(content) is list:
            for j, part in enumerate(content):
                if type(part) is not dict or type(part.get("type")) is not str:
                    raise InvalidBody("each content part must be an object with a string `type`",
                                      param=f"messages.{i}.content.{j}")
        else:
            raise InvalidBody("`content` must be a string, null or an array of parts",
                              param=f"messages.{i}.content")
        name = m.get("name")
        if name is not None and type(name) is not str:
            raise InvalidBody("`name` must be a string", param=f"messages.{i}.name")


def _one(values: Sequence[str], what: str, param: str) -> str | None:
    """The single value all declarations agree on (None if there are none).

    Raises:
        BadRequest: two declarations differ (``conflicting_declaration``).
    """
    if not values:
        return None
    first = values[0]
    for v in values:
        if v != first:
            raise BadRequest(f"conflicting {what} declarations: {short_repr(first)} and {short_repr(v)} "
                             "(headers and metadata must agree)", code="conflicting_declaration",
                             param=param)
    return first


class ChatRequestParser:
    """Validates chat requests against the configured limits and routes."""

    __slots__ = ("limits", "routes", "default_route", "new_id", "sticky")

    def __init__(self, limits: LimitsConfig, routes: Collection[str],
                 default_route: str | None, new_id: Callable[[], str],
                 sticky: Mapping[str, str] | None = None) -> None:
        """``sticky``: per split route with stickiness, ``"user"`` or the header's name."""
        self.limits = limits
        self.routes = routes
        self.default_route = default_route
        self.new_id = new_id  # request ids for requests that bring none
        self.sticky = {route: (key if key == "user" else key.lower().encode("latin-1"))
                       for route, key in (sticky or {}).items()}

    def parse(self, head: RequestHead, raw: bytes, tenant: str) -> ChatRequest:
        """Raises BadRequest / LimitExceeded (400) or InvalidBody (422); see the module."""
        limits = self.limits
        body = parse_json_body(raw, limits.max_json_depth)
        model = body.get("model")
        if model is not None and (type(model) is not str or len(model) > MAX_MODEL_CHARS):
            raise InvalidBody(f"`model` must be a string of at most {MAX_MODEL_CHARS} characters",
                              param="model")
        _check_messages(body.get("messages"), limits.max_messages)
        stream = body.get("stream", False)
        if type(stream) is not bool:
            raise InvalidBody("`stream` must be a boolean", param="stream")
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (type(max_tokens) is not int or max_tokens < 1):
            raise InvalidBody("`max_tokens` must be a positive integer", param="max_tokens")
        user = body.get("user")
        if user is not None and type(user) is not str:
            raise InvalidBody("`user` must be a string", param="user")
        meta = body.pop("metadata", None)
        if meta is None:
            meta = {}
        elif type(meta) is not dict:
            raise InvalidBody("`metadata` must be an object", param="metadata")
        route = self._route(head, meta)
        sticky = None
        if self.sticky:
            key = self.sticky.get(route)
            if key == "user":
                sticky = user
            elif key is not None:
                name = key.decode("latin-1")
                sticky = _one([v.decode("latin-1") for k, v in head.raw if k == key], name, name)
        return ChatRequest(
            request_id=self._request_id(head), tenant=tenant, route=route,
            body=body, data_classes=self._data_classes(head, meta),
            region=self._region(head, meta), stream=stream,
            workflow_id=_label(head.workflow_ids, "X-Govchaos-Workflow-Id"),
            step=_label(head.steps, "X-Govchaos-Step"), sticky=sticky,
        )

    def _route(self, head: RequestHead, meta: dict[str, Any]) -> str:
        values = []
        for v in head.routes:
            v = v.strip()
            if not v:
                raise BadRequest("empty X-Govchaos-Route header", code="invalid_header",
                                 param="X-Govchaos-Route")
            values.append(v)
        v = meta.get("route")
        if v is not None:
            if type(v) is not str or not v:
                raise InvalidBody("`metadata.route` must be a non-empty string",
                                  param="metadata.route")
            values.append(v)
        route = _one(values, "route", "X-Govchaos-Route") or self.default_route
        if not route:
            raise BadRequest("no route: send X-Govchaos-Route or metadata.route",
                             code="missing_route", param="X-Govchaos-Route")
        if route not in self.routes:
            raise BadRequest(f"unknown route {short_repr(route)}", code="unknown_route",
                             param="X-Govchaos-Route")
        return route

    def _data_classes(self, head: RequestHead, meta: dict[str, Any]) -> tuple[str, ...]:
        cap = self.limits.max_data_classes
        declared: list[str] = []
        for value in head.data_classes:
            if not value.strip():
                continue  # an empty list (",".join([])): declares nothing, removes nothing
            items = value.split(",")
            if len(declared) + len(items) > cap:
                raise self._too_many(cap)
            for item in items:
                c = item.strip()
                if not _DATA_CLASS.fullmatch(c):
                    raise BadRequest(
                        f"malformed data class {short_repr(c)} in X-Govchaos-Data-Classes (want a "
                        "comma-separated list of [a-z0-9._-] names, 1-64 characters each)",
                        code="invalid_header", param="X-Govchaos-Data-Classes")
                declared.append(c)
        items = meta.get("data_classes")
        if items is not None:
            if type(items) is str:
                items = items.split(",")
            if type(items) is not list:
                raise InvalidBody("`metadata.data_classes` must be a list of strings",
                                  param="metadata.data_classes")
            if len(declared) + len(items) > cap:
                raise self._too_many(cap)
            for i, item in enumerate(items):
                c = item.strip() if type(item) is str else None
                if c is None or not _DATA_CLASS.fullmatch(c):
                    raise InvalidBody("each data class must be a [a-z0-9._-] name, 1-64 characters",
                                      param=f"metadata.data_classes.{i}")
                declared.append(c)
        if not declared:
            return ()
        if len(declared) == 1:
            return (declared[0],)
        return tuple(sorted(set(declared)))

    @staticmethod
    def _too_many(cap: int) -> LimitExceeded:
        return LimitExceeded(f"more than limits.max_data_classes ({cap}) data classes declared",
                             param="X-Govchaos-Data-Classes")

    def _region(self, head: RequestHead, meta: dict[str, Any]) -> str | None:
        values = []
        for v in head.regions:
            v = v.strip()
            if not _REGION.fullmatch(v):
                raise BadRequest(f"malformed X-Govchaos-Region {short_repr(v)} (want 1-64 of "
                                 "[A-Za-z0-9._-])", code="invalid_header", param="X-Govchaos-Region")
            values.append(v)
        v = meta.get("region")
        if v is not None:
            if type(v) is not str or not _REGION.fullmatch(v):
                raise InvalidBody("`metadata.region` must be a region name (1-64 of [A-Za-z0-9._-])"
                                  " or null", param="metadata.region")
            values.append(v)
        return _one(values, "region", "X-Govchaos-Region")

    def _request_id(self, head: RequestHead) -> str:
        rid = _one(head.request_ids, "X-Govchaos-Request-Id", "X-Govchaos-Request-Id")
        if rid is None:
            return self.new_id()
        if not _REQUEST_ID.fullmatch(rid):
            raise BadRequest("X-Govchaos-Request-Id must be 1-128 of [A-Za-z0-9._:-]",
                             param="X-Govchaos-Request-Id")
        return rid


def _label(values: tuple[str, ...], header: str) -> str | None:
    """A single-valued workflow header (1-128 of [A-Za-z0-9._:/-]), or None when absent.

    Raises:
        BadRequest: two different values (``conflicting_declaration``) or a malformed one
            (``invalid_header``).
    """
    value = _one(values, header, header)
    if value is not None and not _WORKFLOW_LABEL.fullmatch(value):
        raise BadRequest(f"{header} must be 1-128 of [A-Za-z0-9._:/-]", code="invalid_header",
                         param=header)
    return value
