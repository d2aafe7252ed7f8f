"""Bad input to any command: one line `siaga: <what>`, a non-zero exit, never a traceback.

Each case runs the installed `siaga` entry point in a process of its own, as a person at a
terminal would, against a fresh SQLite database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import db

SIAGA = Path(sys.executable).parent / "siaga"

CASES = [
    # (argv, extra environment, exit code, what the one line must say). Exit 2: the input is wrong;
    # 1: it is well formed, but what it names is not there (a file, a ticket).
    (["dial", "999"], {}, 2, "999 is not a Siaga line (lines: 112, 14084)"),
    (["dial", "112", "--press", "x,y"], {}, 2, "'x', 'y' are not phone keys (use 0-9, * and #"),
    (["dial", "112", "--press", "1,10"], {}, 2, "'10' is not a phone key"),
    (["dial", "112", "--timeout", "0"], {}, 2, "--timeout"),
    (["dial", "112"], {"SIAGA_SIP__PORT": "9"}, 1, "nothing listens on 127.0.0.1:9/udp: is `make run` running?"),
    (["directory", "route", "112", "medical", "atlantis"], {}, 2, "atlantis"),
    (["directory", "route", "112", "pizza", "kuta"], {}, 2, "pizza"),
    (["directory", "route", "999", "medical", "kuta"], {}, 2, "999"),
    (["directory", "check", "--file", "/nonexistent/directory.yaml"], {}, 1, "/nonexistent/directory.yaml"),
    (["cases", "list", "--line", "999"], {}, 2, "999"),
    (["cases", "list", "--limit", "many"], {}, 2, "--limit"),
    (["cases", "show", "112-000000-00001"], {}, 1, "no case with ticket '112-000000-00001'"),
    (
        ["report", "kpi", "--from", "2026-12-01", "--to", "2026-12-02T00:00Z"],
        {},
        2,
        "--from: '2026-12-01' has no time zone",
    ),
    (
        ["report", "kpi", "--from", "2026-12-01T00:00Z", "--to", "tomorrow"],
        {},
        2,
        "--to: 'tomorrow' is not an ISO 8601",
    ),
    (["report", "kpi", "--from", "2026-12-02T00:00Z", "--to", "2026-12-01T00:00Z"], {}, 2, "empty or inverted"),
    (["report", "kpi", "--from", "2026-12-01T00:00Z", "--to", "2026-12-02T00:00Z", "--line", "999"], {}, 2, "999"),
    (["report", "kpi", "--to", "2026-12-02T00:00Z"], {}, 2, "Missing option '--from'"),
    (["run", "--profile", "staging"], {}, 2, "staging"),
    (["serve", "--log-level", "LOUD"], {}, 2, "LOUD"),
    (["cases", "list"], {"SIAGA_ARI__PORT": "abc"}, 2, "SIAGA_ARI__PORT"),
    (["nosuchcommand"], {}, 2, "nosuchcommand"),
    (["users", "add", "Wayan Sudirta", "--role", "agent"], {}, 2, "'Wayan Sudirta' is not a user name"),
    (["users", "add", "wayan", "--role", "king"], {}, 2, "there is no role 'king'"),
    (["users", "add", "wayan"], {}, 2, "--role"),
    (["users", "disable", "nobody"], {}, 1, "no user 'nobody'"),
    (["web", "--profile", "staging"], {}, 2, "staging"),
    (["web"], {"SIAGA_WEBAPP__PORT": "eighty"}, 2, "SIAGA_WEBAPP__PORT"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-input")
    url = f"sqlite:///{tmp / 'cases.db'}"
    db.migrate(url)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_") and k != "DATABASE_URL"}
    return {**clean, "DATABASE_URL": url, "COLUMNS": "80"}


@pytest.mark.parametrize(("argv", "extra", "code", "says"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_gets_one_line_and_an_exit_code_never_a_traceback(env, argv, extra, code, says):
    done = subprocess.run([str(SIAGA), *argv], env={**env, **extra}, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and lines[0].startswith("siaga: "), done.stderr
    assert says in done.stderr, done.stderr
    assert done.stdout == ""  # nothing was done


def test_the_traceback_is_there_on_request(env):
    """SIAGA_DEBUG=1 shows where an error came from (here: a database that does not answer)."""
    broken = {**env, "DATABASE_URL": "postgresql://siaga@127.0.0.1:9/none"}  # discard port: refused
    plain = subprocess.run([str(SIAGA), "cases", "list"], env=broken, capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "Traceback" not in plain.stderr
    assert plain.stderr.startswith("siaga: ")
    debug = subprocess.run(
        [str(SIAGA), "cases", "list"], env={**broken, "SIAGA_DEBUG": "1"}, capture_output=True, text=True, timeout=60
    )
    assert debug.returncode == plain.returncode and "Traceback" in debug.stderr
