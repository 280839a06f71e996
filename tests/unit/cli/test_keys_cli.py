from __future__ import annotations

import json
import stat
from pathlib import Path

from governance.attest import key_id, load_public_key
from govchaos.cli import main


def test_generate_prints_paths_and_key_id(tmp_path: Path, capsys) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    public = tmp_path / "govchaos-signing.pub"
    assert str(tmp_path / "govchaos-signing.key") in out and str(public) in out
    assert key_id(load_public_key(public)) in out
    assert stat.S_IMODE((tmp_path / "govchaos-signing.key").stat().st_mode) == 0o600


def test_generate_refuses_overwrite_without_force(tmp_path: Path, capsys) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["keys", "generate", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error[key_exists]" in err and "--force" in err and "Traceback" not in err
    assert main(["keys", "generate", "--out", str(tmp_path), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] != first["key_id"]


def test_bad_usage_exits_2(capsys) -> None:
    assert main(["keys", "generate", "--bogus"]) == 2
    assert main(["keys"]) == 2


def test_unwritable_directory_is_a_clear_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["keys", "generate", "--out", str(blocker / "sub")]) == 2
    assert "error[key_file_invalid]" in capsys.readouterr().err
