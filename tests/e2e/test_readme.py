"""The README's first screen, as a newcomer meets it: `siaga run --profile demo` (what `make run`
starts), then the "Try it" block pasted into a shell.

The block runs as written, line by line, through bash in the checkout. The only changes are
where this test's system listens: its ports (free ones, so that a `make run` on this machine does
not matter) and its files come from SIAGA_* variables, and the health URL's port is replaced.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import _parts_available
from tests.e2e.system import free_port
from tests.support.parts import need
from tests.support.waiting import until

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
READY = "Siaga is running (demo profile). Ctrl-C stops everything."


def fenced_after(heading: str, language: str = "") -> list[str]:
    """The first fenced block (```language) after ``heading`` in the README, as lines."""
    text = README.read_text(encoding="utf-8")
    rest = text[text.index(heading) :]
    match = re.search(rf"^```{language}\n(.*?)^```", rest, re.S | re.M)
    assert match, f"no ```{language} block after {heading!r} in the README"
    return match.group(1).splitlines()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``siaga run --profile demo`` in the foreground, as ``make run`` starts it, on free ports."""
    need(_parts_available(), "Asterisk 22, pjsua2 and espeak-ng (run `make bootstrap`)")
    tmp = tmp_path_factory.mktemp("readme")
    rtp = 30000 + secrets.randbelow(30) * 1000
    env = {
        **os.environ,
        "SIAGA_ASTERISK__INSTANCE": f"readme-{os.getpid()}",
        "SIAGA_ARI__PORT": str(free_port(socket.SOCK_STREAM)),
        "SIAGA_SIP__PORT": str(free_port(socket.SOCK_DGRAM)),
        "SIAGA_SIP__RTP_START": str(rtp),
        "SIAGA_SIP__RTP_END": str(rtp + 999),
        "SIAGA_WEB__PORT": str(free_port(socket.SOCK_STREAM)),
        "SIAGA_WEBAPP__PORT": str(free_port(socket.SOCK_STREAM)),
        "SIAGA_JOURNAL_DIR": str(tmp / "journal"),
        "SIAGA_RECORDINGS_DIR": str(tmp / "recordings"),
        "DATABASE_URL": f"sqlite:///{tmp / 'cases.db'}",
        "SIAGA_REDIS__URL": "",  # not the machine's shared Redis
    }
    env.pop("SIAGA_PROFILE", None)
    log = tmp / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(
            [str(ROOT / ".venv/bin/siaga"), "run", "--profile", "demo"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        until(lambda: READY in log.read_text(errors="replace") or run.poll() is not None, 120, "Siaga is running")
        assert run.poll() is None, f"siaga run stopped:\n{log.read_text(errors='replace')[-3000:]}"
        yield env, log
    finally:
        run.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
        shutil.rmtree(ROOT / ".asterisk/root/var/lib/siaga" / env["SIAGA_ASTERISK__INSTANCE"], ignore_errors=True)


def test_make_run_says_it_is_ready_in_the_words_the_readme_gives(demo):
    _env, log = demo
    assert READY in "\n".join(fenced_after("`make run` is ready when it prints"))
    assert READY in log.read_text()


def test_the_try_it_block_works_as_pasted_and_its_sample_output_matches(demo):
    env, _log = demo
    block = fenced_after("## Try it", "sh")
    assert block and all(line.startswith((".venv/bin/siaga ", "curl ")) for line in block), block
    outputs = []
    for line in block:
        command = line.replace("127.0.0.1:8000", f"127.0.0.1:{env['SIAGA_WEB__PORT']}")
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        outputs.append((done.stdout, done.stderr, time.monotonic() - started))

    dialled, listed, shown, health = (out for out, _err, _s in outputs)
    ticket = re.search(r"ticket: (\S+)", dialled).group(1)
    assert re.fullmatch(r"112-\d{6}-\d{5}", ticket)
    assert ticket in listed and ticket in shown
    assert '"status":"ok"' in health

    # The README's sample output: the same progress lines (stderr) and the same fields, in the same order.
    sample = fenced_after("It prints its progress, then the case")
    first_field = next(i for i, line in enumerate(sample) if line.strip().startswith("ticket:"))
    progress, case = sample[:first_field], sample[first_field:]
    assert [line.split(":", 1)[0].strip() for line in case] == [
        line.split(":", 1)[0].strip() for line in dialled.splitlines()
    ]

    def same(line: str) -> str:  # caller numbers and ports differ from run to run
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", re.sub(r"\b\d{9,}\b", "N", line))

    assert [same(line) for line in outputs[0][1].splitlines()] == [same(line) for line in progress]
    for name, value in (
        ("language", "en"),
        ("category", "medical"),
        ("district", "kuta"),
        ("disposition", "completed"),
    ):
        assert re.search(rf"^\s*{name}: {value}$", dialled, re.M), (name, dialled)
        assert any(re.fullmatch(rf"\s*{name}: {value}", line) for line in case), (name, case)
    assert re.search(r"received_at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d WITA", dialled)
