"""Every command that reads the settings refuses bad input with one line and exit code 2.

These run the real ``siaga`` executable, as an operator would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import paths

SIAGA = Path(sys.executable).parent / "siaga"


def siaga(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("SIAGA_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    environ = {**clean, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "SIAGA_PROFILE": "demo", **env}
    return subprocess.run([str(SIAGA), *args], env=environ, capture_output=True, text=True, timeout=60)


def refused(result: subprocess.CompletedProcess) -> str:
    """The one line a refusal prints; fails on a traceback or a zero exit."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def bad_toml(tmp_path) -> Path:
    path = tmp_path / "siaga.toml"
    path.write_text('[ari]\nhost = "127.0.0.1"\nport = 80 88\n')
    return path


def test_serve_refuses_a_toml_syntax_error_naming_file_and_line(tmp_path, bad_toml):
    line = refused(siaga(tmp_path, "serve", SIAGA_CONFIG=str(bad_toml)))
    assert line.startswith(f"siaga: {bad_toml}: line 3: TOML syntax error: ")


def test_serve_refuses_a_wrong_type_in_the_environment_naming_the_variable(tmp_path):
    line = refused(siaga(tmp_path, "serve", SIAGA_WEB__PORT="eighty"))
    assert line.startswith("siaga: environment SIAGA_WEB__PORT: Input should be a valid integer")


def test_serve_refuses_a_missing_config_file(tmp_path):
    missing = tmp_path / "etc" / "siaga.toml"
    assert (
        refused(siaga(tmp_path, "serve", SIAGA_CONFIG=str(missing))) == f"siaga: SIAGA_CONFIG={missing}: file not found"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["cases", "list"],
        ["db", "upgrade"],
        ["directory", "check"],
        ["audit", "list"],
        ["prompts", "render"],
        ["asterisk", "render"],
    ],
)
def test_every_command_refuses_a_bad_config_the_same_way(tmp_path, bad_toml, command):
    line = refused(siaga(tmp_path, *command, SIAGA_CONFIG=str(bad_toml)))
    assert line.startswith(f"siaga: {bad_toml}: line 3: TOML syntax error")


def test_serve_refuses_a_menu_file_with_a_misspelt_key_naming_file_menu_and_key(tmp_path):
    # SIAGA_ROOT moves the checkout's data folders (menus included) to a copy we can break.
    menus = tmp_path / "root" / "ivr" / "menus"
    shutil.copytree(paths.MENUS, menus)
    broken = (
        (menus / "112.yaml")
        .read_text()
        .replace('"9": {set: {language: en}, next: category}', '"9": {set: {language: en}, nxt: category}')
    )
    (menus / "112.yaml").write_text(broken)
    line = refused(
        siaga(tmp_path, "serve", SIAGA_ROOT=str(tmp_path / "root"), SIAGA_DIRECTORY=str(paths.DEMO_DIRECTORY))
    )
    assert line == (
        "siaga: cannot start the call service: 112.yaml: menus.language.options.9.nxt: "
        "unknown key (allowed: forward, next, operator, set)"
    )
