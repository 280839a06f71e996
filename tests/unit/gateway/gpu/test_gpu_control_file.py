from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.gpu import GpuControlFile, GpuControlFileError, parse_control_file


def test_round_trip_in_the_documented_format(tmp_path: Path) -> None:
    ctl = GpuControlFile(tmp_path / "gpu.json")
    ctl.set(0, "lost", xid=79, reason="fell off the bus")
    ctl.set(3, "degraded")
    doc = json.loads((tmp_path / "gpu.json").read_text())
    assert doc == {"devices": {"0": {"state": "lost", "xid": 79, "reason": "fell off the bus"},
                               "3": {"state": "degraded", "reason": ""}}}
    reader = GpuControlFile(tmp_path / "gpu.json")
    assert {d: o.state for d, o in reader.overrides().items()} == {0: "lost", 3: "degraded"}
    ctl.clear(0)
    assert set(reader.overrides()) == {3}
    ctl.clear_all()
    assert reader.overrides() == {}


def test_hand_written_file_with_extra_keys_parses() -> None:
    parsed = parse_control_file('{"devices": {"1": {"state": "healthy", "note": "x"}}, "written_by": "me"}')
    assert parsed[1].state == "healthy" and parsed[1].xid is None


def test_missing_file_means_no_overrides(tmp_path: Path) -> None:
    assert GpuControlFile(tmp_path / "absent.json").overrides() == {}


def test_writer_leaves_no_temp_files(tmp_path: Path) -> None:
    ctl = GpuControlFile(tmp_path / "gpu.json")
    for i in range(20):
        ctl.set(i % 3, "lost" if i % 2 else "healthy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu.json", "gpu.json.lock"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "not valid JSON"),
        ('{"devices": {"0": {"state": "lo', "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"devices": []}', "'devices' must be an object"),
        ('{"devices": {"zero": {"state": "lost"}}}', "device key must be a decimal index"),
        ('{"devices": {"-1": {"state": "lost"}}}', "device key must be a decimal index"),
        ('{"devices": {"0": "lost"}}', "devices.0: expected an object"),
        ('{"devices": {"0": {"state": "broken"}}}', "devices.0.state"),
        ('{"devices": {"0": {"state": "lost", "xid": "79"}}}', "devices.0.xid"),
        ('{"devices": {"0": {}}}', "devices.0.state"),
    ],
)
def test_invalid_documents_name_the_field(text: str, fragment: str) -> None:
    with pytest.raises(GpuControlFileError, match=fragment.replace(".", r"\.").replace("[", r"\[")):
        parse_control_file(text, file="gpu.json")


def test_garbage_keeps_last_good_state_and_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gpu.json"
    ctl = GpuControlFile(path)
    ctl.set(0, "lost", xid=79)
    reader = GpuControlFile(path)
    assert reader.overrides()[0].state == "lost"
    path.write_text('{"devices": {"0": {"sta')  # a half-written file (a writer not using os.replace)
    with caplog.at_level(logging.WARNING, logger="gateway.gpu.control_file"):
        for _ in range(5):
            assert reader.overrides()[0].state == "lost"
    assert len([r for r in caplog.records if "keeping last good state" in r.message]) == 1
    ctl_again = GpuControlFile(path)
    with pytest.raises(GpuControlFileError):  # the writer refuses to build on an unparseable file
        ctl_again.set(1, "lost")
    path.write_text('{"devices": {}}')
    assert reader.overrides() == {}


def test_unreadable_path_keeps_last_good_state(tmp_path: Path) -> None:
    path = tmp_path / "gpu.json"
    GpuControlFile(path).set(0, "degraded")
    reader = GpuControlFile(path)
    assert reader.overrides()[0].state == "degraded"
    os.unlink(path)
    path.mkdir()  # reading a directory raises IsADirectoryError
    assert reader.overrides()[0].state == "degraded"


def test_writer_rejects_bad_values(tmp_path: Path) -> None:
    ctl = GpuControlFile(tmp_path / "gpu.json")
    with pytest.raises(GpuControlFileError):
        ctl.set(-1, "lost")
    with pytest.raises(GpuControlFileError, match="state"):
        ctl.set(0, "gone")  # type: ignore[arg-type]
    with pytest.raises(GpuControlFileError, match="xid"):
        ctl.set(0, "lost", xid=-5)


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "gpu.json"

    def writer(device: int) -> None:
        ctl = GpuControlFile(path)  # one object per writer, as separate processes would have
        for _ in range(15):
            ctl.set(device, "lost", xid=79)

    threads = [threading.Thread(target=writer, args=(d,)) for d in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert set(GpuControlFile(path).overrides()) == {0, 1, 2, 3}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
device_entries = st.fixed_dictionaries(
    {"state": st.sampled_from(["healthy", "degraded", "lost", "LOST", "", "x"]) | json_values},
    optional={"xid": st.integers(-3, 200) | json_values, "reason": st.text(max_size=10) | json_values},
)
documents = st.fixed_dictionaries(
    {"devices": st.dictionaries(st.sampled_from(["0", "1", "01", "-1", "a", " 2", "١"]), device_entries, max_size=3)
     | json_values}
) | json_values


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | documents.map(lambda d: json.dumps(d).encode()))
def test_parser_never_raises_anything_but_its_own_error(data: bytes) -> None:
    try:
        parsed = parse_control_file(data)
    except GpuControlFileError:
        return
    assert all(isinstance(d, int) and d >= 0 for d in parsed)
    assert all(o.state in ("healthy", "degraded", "lost") for o in parsed.values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=120))
def test_reader_keeps_last_good_state_whatever_is_written(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "gpu.json"
    path.unlink(missing_ok=True)  # tmp_path is shared by every example
    GpuControlFile(path).set(0, "lost", xid=79)
    reader = GpuControlFile(path)
    before = reader.overrides()
    path.write_bytes(garbage)
    try:
        expected = parse_control_file(garbage)
    except GpuControlFileError:
        expected = before
    assert reader.overrides() == expected
