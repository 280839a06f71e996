"""Edge behaviours matched to Toxiproxy 2.12 (its api.go, proxy.go, toxic_collection.go and
api_test.go), checked over raw HTTP and real connections. Differences that remain on purpose
are listed in docs/fault-proxy.md."""

from __future__ import annotations

import httpx
import pytest

from .helpers import connect


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.api_url, timeout=5) as client:
        yield client


def _error(response: httpx.Response, status: int, contains: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert contains in body["error"]


async def _proxy_with_toxic_and_connection(http, echo):
    created = (await http.post("/proxies", json={"name": "one", "upstream": echo.address})).json()
    port = int(created["listen"].rsplit(":", 1)[1])
    toxic = await http.post("/proxies/one/toxics", json={"type": "latency",
                                                         "attributes": {"latency": 120}})
    assert toxic.status_code == 200
    client = await connect(port)
    assert await client.round_trip(b"before") >= 0.11  # the toxic bites on this connection
    return created, port, client


async def test_populate_with_localhost_keeps_a_proxy_bound_on_127_0_0_1(http, echo):
    # api_test.go TestPopulateExistingProxy: "localhost:7070" resolves to 127.0.0.1:7070, so the
    # proxy is the same one: toxics and live connections survive.
    created, port, client = await _proxy_with_toxic_and_connection(http, echo)
    response = await http.post("/populate", json=[
        {"name": "one", "listen": f"localhost:{port}", "upstream": echo.address},
    ])
    assert response.status_code == 201, response.text
    assert response.json()["proxies"][0]["listen"] == f"127.0.0.1:{port}"
    toxics = (await http.get("/proxies/one/toxics")).json()
    assert [t["type"] for t in toxics] == ["latency"]
    assert await client.round_trip(b"after") >= 0.11  # same connection, toxic still applied
    client.close()


async def test_populate_with_another_listen_replaces_the_proxy(http, echo):
    created, port, client = await _proxy_with_toxic_and_connection(http, echo)
    response = await http.post("/populate", json=[
        {"name": "one", "listen": "127.0.0.1:0", "upstream": echo.address},
    ])
    assert response.status_code == 201
    assert response.json()["proxies"][0]["listen"] != created["listen"]
    assert (await http.get("/proxies/one/toxics")).json() == []  # a new proxy
    assert await client.recv_all(timeout_s=5) == b""  # the old one's connection was dropped
    client.close()


async def test_patch_with_localhost_keeps_live_connections(http, echo):
    created, port, client = await _proxy_with_toxic_and_connection(http, echo)
    response = await http.patch("/proxies/one", json={"listen": f"localhost:{port}"})
    assert response.status_code == 200, response.text
    assert response.json()["listen"] == f"127.0.0.1:{port}"
    assert await client.round_trip(b"after") >= 0.11  # not rebound: the connection lives
    client.close()


async def test_patch_with_another_port_rebinds_and_drops_connections(http, echo):
    created, port, client = await _proxy_with_toxic_and_connection(http, echo)
    response = await http.patch("/proxies/one", json={"listen": "localhost:0"})
    assert response.status_code == 200
    assert response.json()["listen"] != created["listen"]
    assert await client.recv_all(timeout_s=5) == b""
    assert [t["type"] for t in response.json()["toxics"]] == ["latency"]  # toxics stay
    client.close()


async def test_noop_toxic(http, echo):
    # api_test.go TestAddNoop: stream omitted -> downstream, toxicity 1, no attributes.
    created = (await http.post("/proxies", json={"name": "one", "upstream": echo.address})).json()
    response = await http.post("/proxies/one/toxics", json={"name": "foobar", "type": "noop"})
    assert response.status_code == 200, response.text
    assert response.json() == {"attributes": {}, "name": "foobar", "type": "noop",
                               "stream": "downstream", "toxicity": 1.0}
    client = await connect(int(created["listen"].rsplit(":", 1)[1]))
    assert await client.round_trip(b"x" * 70_000) < 2.0  # bytes pass untouched
    client.close()


async def test_null_toxicity_is_the_default_on_create_and_unchanged_on_update(http, echo):
    await http.post("/proxies", json={"name": "one", "upstream": echo.address})
    created = await http.post("/proxies/one/toxics", json={"type": "latency", "toxicity": None})
    assert created.status_code == 200 and created.json()["toxicity"] == 1.0
    await http.patch("/proxies/one/toxics/latency_downstream", json={"toxicity": 0.25})
    updated = await http.patch("/proxies/one/toxics/latency_downstream",
                               json={"toxicity": None, "attributes": {"latency": 5}})
    assert updated.status_code == 200
    assert updated.json()["toxicity"] == 0.25
    assert updated.json()["attributes"]["latency"] == 5


async def test_stream_is_case_insensitive_and_echoed_as_given(http, echo):
    created = (await http.post("/proxies", json={"name": "one", "upstream": echo.address})).json()
    response = await http.post("/proxies/one/toxics", json={
        "type": "latency", "stream": "UPSTREAM", "attributes": {"latency": 120}})
    assert response.status_code == 200, response.text
    assert response.json()["stream"] == "UPSTREAM"
    assert response.json()["name"] == "latency_UPSTREAM"  # Toxiproxy names it from the text
    client = await connect(int(created["listen"].rsplit(":", 1)[1]))
    assert await client.round_trip(b"up") >= 0.11  # and it sits on the client -> server side
    client.close()
    listed = (await http.get("/proxies/one/toxics")).json()
    assert [t["name"] for t in listed] == ["latency_UPSTREAM"]


async def test_empty_stream_is_invalid(http, echo):
    await http.post("/proxies", json={"name": "one", "upstream": echo.address})
    _error(await http.post("/proxies/one/toxics", json={"type": "latency", "stream": ""}), 400,
           "stream was invalid, can be either upstream or downstream")
    # null is "not given": the default stream
    response = await http.post("/proxies/one/toxics", json={"type": "latency", "stream": None})
    assert response.status_code == 200 and response.json()["stream"] == "downstream"


async def test_duplicate_toxic_name_is_409_before_its_attributes_are_read(http, echo):
    await http.post("/proxies", json={"name": "one", "upstream": echo.address})
    await http.post("/proxies/one/toxics", json={"name": "t", "type": "latency"})
    _error(await http.post("/proxies/one/toxics", json={
        "name": "t", "type": "slicer", "attributes": {"delay": "not a number"}}), 409,
        "toxic already exists")
    # a new name with the same bad attributes: now the attributes are the problem
    _error(await http.post("/proxies/one/toxics", json={
        "name": "u", "type": "slicer", "attributes": {"delay": "not a number"}}), 400,
        "attributes.delay")


async def test_missing_type_is_an_invalid_toxic_type(http, echo):
    await http.post("/proxies", json={"name": "one", "upstream": echo.address})
    _error(await http.post("/proxies/one/toxics", json={"name": "t"}), 400, "invalid toxic type")


async def test_populate_with_a_listen_without_port_applies_nothing(http, echo):
    response = await http.post("/populate", json=[
        {"name": "one", "upstream": echo.address},
        {"name": "two", "upstream": echo.address, "listen": "localhost"},
    ])
    _error(response, 400, "listen must be host:port")
    assert response.json()["proxies"] is None
    assert (await http.get("/proxies")).json() == {}
    created = await http.post("/proxies", json={"name": "one", "upstream": echo.address})
    _error(await http.patch("/proxies/one", json={"listen": "localhost"}), 400,
           "listen must be host:port")
    assert (await http.get("/proxies/one")).json()["listen"] == created.json()["listen"]
