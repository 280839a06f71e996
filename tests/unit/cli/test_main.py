from __future__ import annotations

from govchaos.cli import main


def test_help_exits_zero(capsys) -> None:
    assert main(["--help"]) == 0
    assert "policy" in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys) -> None:
    assert main(["no-such-command"]) == 2


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    assert main([]) == 2
