"""`siaga serve` refuses to start on bad input, with a message naming what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from app import paths

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
