"""`siaga serve` refuses to start on bad input, with a message naming what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from app import paths
from app.passwords import RULE

SIAGA = Path(sys.executable).parent / "siaga"


def serve(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", **env}
    return subprocess.run([str(SIAGA), "serve"], env=environ, capture_output=True, text=True, timeout=60)


def test_serve_refuses_a_directory_with_an_undefined_agency_naming_file_and_entry(tmp_path):
    data = yaml.safe_load(paths.DEMO_DIRECTORY.read_text())
    data["units"][2]["agency"] = "pcs"
    bad = tmp_path / "broken-directory.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = serve(tmp_path, SIAGA_PROFILE="demo", SIAGA_DIRECTORY=str(bad))
    assert result.returncode == 2
    assert "broken-directory.yaml" in result.stderr and "units[2]" in result.stderr and "pcs" in result.stderr


def test_serve_refuses_to_run_outside_the_demo_profile_without_an_ari_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")}
    result = subprocess.run(
        [str(SIAGA), "serve"], env={**env, "SIAGA_PROFILE": "production"}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "SIAGA_ARI__PASSWORD" in result.stderr


def test_serve_refuses_the_demo_password_outside_the_demo_profile(tmp_path):
    result = serve(tmp_path, SIAGA_PROFILE="production", SIAGA_ARI__PASSWORD="siaga-demo")
    assert result.returncode == 2
    assert "well-known password" in result.stderr


def test_serve_refuses_the_demo_password_on_sip_open_to_the_lan_in_one_line(tmp_path):
    result = subprocess.run(
        [str(SIAGA), "serve", "--profile", "demo"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "SIAGA_SIP__BIND_HOST": "0.0.0.0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("siaga: sip.endpoint_password: refused while sip.bind_host is '0.0.0.0', not loopback")
    assert "SIAGA_SIP__ENDPOINT_PASSWORD" in line and "at least 12 characters" in line
    assert not (tmp_path / "db.sqlite").exists()  # refused before touching anything


def test_serve_refuses_a_weak_ari_password_naming_the_variable_and_the_rule(tmp_path):
    result = serve(tmp_path, SIAGA_PROFILE="production", SIAGA_ARI__PASSWORD="1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "siaga: environment SIAGA_ARI__PASSWORD: refused outside the demo profile: shorter than 12 characters "
        f"(the rule: {RULE})"
    )
