"""Status codes and bodies of the Toxiproxy HTTP API, checked with raw HTTP."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.api_url, timeout=5) as client:
        yield client


def _error(response: httpx.Response, status: int, contains: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status
    assert contains in body["error"]


async def _create(http, echo, name="svc", **extra):
    response = await http.post(
        "/proxies", json={"name": name, "upstream": echo.address, "listen": "127.0.0.1:0", **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_version_exposes_the_seed(http, server):
    body = (await http.get("/version")).json()
    assert body["seed"] == server.seed
    assert body["version"].startswith("2.")


async def test_create_answers_bound_listen_and_defaults(http, echo):
    body = await _create(http, echo)
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert body == {
        "name": "svc",
        "listen": body["listen"],
        "upstream": echo.address,
        "enabled": True,
        "toxics": [],
    }
    assert (await http.get("/proxies")).json() == {"svc": body}
    assert (await http.get("/proxies/svc")).json() == body


async def test_create_errors(http, echo):
    await _create(http, echo)
    _error(await http.post("/proxies", json={"name": "svc", "upstream": echo.address}), 409,
           "proxy already exists")
    _error(await http.post("/proxies", content=b"{not json"), 400, "bad request body")
    _error(await http.post("/proxies", content=b""), 400, "bad request body")
    _error(await http.post("/proxies", json={"upstream": echo.address}), 400,
           "missing required field: name")
    _error(await http.post("/proxies", json={"name": "x"}), 400,
           "missing required field: upstream")
    _error(await http.post("/proxies", json={"name": "x", "upstream": "nohost"}), 400,
           "upstream must be host:port")
    _error(await http.post("/proxies", json=["a"]), 400, "bad request body")


async def test_create_disabled_does_not_listen(http, echo):
    body = await _create(http, echo, enabled=False)
    assert body["enabled"] is False
    assert body["listen"] == "127.0.0.1:0"


async def test_unknown_proxy_is_404_everywhere(http):
    for method, path in [
        ("GET", "/proxies/nope"),
        ("PATCH", "/proxies/nope"),
        ("POST", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("POST", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/t"),
        ("DELETE", "/proxies/nope/toxics/t"),
    ]:
        _error(await http.request(method, path, json={}), 404, "proxy not found")


async def test_update_and_delete(http, echo):
    created = await _create(http, echo)
    response = await http.patch("/proxies/svc", json={"enabled": False})
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    response = await http.post("/proxies/svc", json={"enabled": True})
    assert response.json()["enabled"] is True
    assert response.json()["listen"] == created["listen"]  # same port when re-enabled
    _error(await http.patch("/proxies/svc", json={"enabled": "yes"}), 400, "bad request body")
    response = await http.delete("/proxies/svc")
    assert response.status_code == 204 and response.content == b""
    _error(await http.get("/proxies/svc"), 404, "proxy not found")


async def test_toxic_crud_and_errors(http, echo):
    await _create(http, echo)
    response = await http.post(
        "/proxies/svc/toxics", json={"type": "latency", "attributes": {"latency": 10}}
    )
    assert response.status_code == 200
    assert response.json() == {
        "attributes": {"latency": 10, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
    }
    _error(await http.post("/proxies/svc/toxics", json={"type": "latency"}), 409,
           "toxic already exists")
    _error(await http.post("/proxies/svc/toxics", json={"type": "latncy"}), 400,
           "invalid toxic type")
    _error(await http.post("/proxies/svc/toxics", json={"type": "latency", "stream": "sideways"}),
           400, "stream was invalid")
    _error(await http.post("/proxies/svc/toxics",
                           json={"type": "slicer", "attributes": {"delay": -1}}), 400,
           "attributes.delay")
    _error(await http.post("/proxies/svc/toxics",
                           json={"type": "bandwidth", "toxicity": 2}), 400, "toxicity")
    _error(await http.post("/proxies/svc/toxics", content=b"[1"), 400, "bad request body")

    upstream = await http.post(
        "/proxies/svc/toxics",
        json={"type": "timeout", "stream": "upstream", "name": "t", "toxicity": 0.5},
    )
    assert upstream.json()["toxicity"] == 0.5
    listed = (await http.get("/proxies/svc/toxics")).json()
    assert [t["name"] for t in listed] == ["t", "latency_downstream"]  # upstream chain first

    assert (await http.get("/proxies/svc/toxics/t")).json()["type"] == "timeout"
    _error(await http.get("/proxies/svc/toxics/missing"), 404, "toxic not found")

    patched = await http.patch(
        "/proxies/svc/toxics/latency_downstream", json={"attributes": {"jitter": 5}}
    )
    assert patched.status_code == 200
    assert patched.json()["attributes"] == {"latency": 10, "jitter": 5}  # merged
    _error(await http.patch("/proxies/svc/toxics/missing", json={}), 404, "toxic not found")

    assert (await http.delete("/proxies/svc/toxics/t")).status_code == 204
    _error(await http.delete("/proxies/svc/toxics/t"), 404, "toxic not found")


async def test_reset_reenables_and_clears_toxics(http, echo):
    await _create(http, echo)
    await http.post("/proxies/svc/toxics", json={"type": "latency"})
    await http.patch("/proxies/svc", json={"enabled": False})
    response = await http.post("/reset")
    assert response.status_code == 204
    body = (await http.get("/proxies/svc")).json()
    assert body["enabled"] is True and body["toxics"] == []


async def test_populate_creates_keeps_and_replaces(http, echo):
    first = await _create(http, echo, name="keep")
    response = await http.post(
        "/populate",
        json=[
            {"name": "keep", "upstream": echo.address, "listen": first["listen"]},
            {"name": "new", "upstream": echo.address},
        ],
    )
    assert response.status_code == 201
    proxies = response.json()["proxies"]
    assert [p["name"] for p in proxies] == ["keep", "new"]
    assert proxies[0]["listen"] == first["listen"]
    assert proxies[1]["listen"].startswith("127.0.0.1:")
    bad = await http.post("/populate", json=[{"name": "a", "upstream": echo.address}, {"name": "a",
                                             "upstream": echo.address}])
    _error(bad, 400, "duplicate proxy name")
    _error(await http.post("/populate", json=[{"upstream": echo.address}]), 400,
           "missing required field: name at proxy 1")
    _error(await http.post("/populate", json={"name": "a"}), 400, "bad request body")
    assert set((await http.get("/proxies")).json()) == {"keep", "new"}  # nothing half-applied


async def test_unknown_route_method_and_browser(http):
    _error(await http.get("/nothing"), 404, "not found")
    _error(await http.put("/proxies"), 405, "method not allowed")
    _error(await http.get("/proxies", headers={"User-Agent": "Mozilla/5.0"}), 403,
           "User agent not allowed")


async def test_listen_conflict_is_500(http, echo):
    first = await _create(http, echo, name="a")
    response = await http.post(
        "/proxies", json={"name": "b", "upstream": echo.address, "listen": first["listen"]}
    )
    _error(response, 500, "listen tcp")
