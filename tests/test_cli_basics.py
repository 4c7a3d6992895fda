"""The CLI contract: every command exists and describes itself; the version prints."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analyzer.cli import COMMANDS


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          timeout=120)


def test_version_prints_package_version() -> None:
    from analyzer import __version__

    res = pgqa("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"pgqa {__version__}"


def test_help_lists_every_contract_command() -> None:
    res = pgqa("--help")
    assert res.returncode == 0
    for name in ("lint", "analyze", "advise", "explain", "snapshot", "connections", "tickets", "demo"):
        assert name in res.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name: str) -> None:
    res = pgqa(name, "--help")
    assert res.returncode == 0, res.stderr
    assert f"pgqa {name}" in res.stdout
