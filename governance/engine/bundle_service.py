"""OPA's Bundle Service API: ``GET /bundles/<name>`` serves an OPA bundle tarball.

    service = BundleService("govchaos", signing_key=None)
    service.publish(policy_bundle)          # after every (re)load: a new revision, a new ETag

Responses follow OPA's bundle protocol: 200 ``application/gzip`` with an ``ETag`` (the tarball's
sha256, quoted); a request whose ``If-None-Match`` names the current ETag (or ``*``) gets
``304 Not Modified`` with no body, which is how OPA polls cheaply; an unknown name is a 404 with
OPA's error body. The bundle is the server's current policy, built and signed once per change by
:func:`~governance.engine.opa_bundle.build_opa_bundle`.

An OPA fleet points at it with::

    services: {govchaos: {url: "http://HOST:8181"}}
    bundles: {govchaos: {service: govchaos}}        # resource defaults to bundles/govchaos
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from governance.engine.bundle import PolicyBundle
from governance.engine.opa_bundle import OpaBundle, build_opa_bundle


class BundleService:
    """The bundles this server publishes, by name; ``publish`` swaps one in atomically."""

    def __init__(self, name: str = "govchaos", *, signing_key: Any = None, key_id: str | None = None) -> None:
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"bundle name must be a relative name such as 'govchaos', not {name!r}")
        self.name = name
        self._signing_key = signing_key
        self._key_id = key_id
        self._built: OpaBundle | None = None

    def publish(self, bundle: PolicyBundle) -> OpaBundle:
        """Build (and sign) ``bundle`` and serve it from now on.

        Raises:
            OpaBundleError: the bundle cannot be expressed as an OPA bundle (the old one stays).
        """
        built = build_opa_bundle(bundle, signing_key=self._signing_key, key_id=self._key_id)
        self._built = built  # the one swap
        return built

    @property
    def current(self) -> OpaBundle | None:
        return self._built

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        built = self._built
        if built is None or name != self.name:
            return web.json_response(
                {"code": "resource_not_found", "message": f"bundle {name!r} not found"}, status=404
            )
        headers = {"ETag": built.etag, "Cache-Control": "no-cache"}
        if _matches(request.headers.getall("If-None-Match", []), built.etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=built.tarball, content_type="application/gzip", headers=headers)


def _matches(values: list[str], etag: str) -> bool:
    """Whether an ``If-None-Match`` header (possibly several, comma-separated) names ``etag``."""
    for value in values:
        for tag in value.split(","):
            tag = tag.strip()
            if tag == "*" or tag.removeprefix("W/") == etag:
                return True
    return False
