"""Caller data and secrets on disk, and a full disk, with the real system: Asterisk, `siaga serve`, real calls.

The recordings folder is a small tmpfs of its own, so one test can fill it up
like a full disk while the case journal (on the ordinary disk) goes on.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from app.asterisk.constants import call_recording
from app.asterisk.runtime import LOGS, host_files
from tests.e2e.conftest import _parts_available
from tests.e2e.system import System, new_caller
from tests.support.parts import need

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

RECORDINGS_MB = 2


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    need(_parts_available(), "Asterisk 22, pjsua2, espeak-ng and root (run `make bootstrap`)")
    tmp = tmp_path_factory.mktemp("files")
    recordings = tmp / "recordings-disk"
    recordings.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={RECORDINGS_MB}m", "tmpfs", str(recordings)], check=True)
    s = System(tmp)
    # Below 1 MB free anywhere is "critical": the tmpfs holds 2 MB, the other folders far more.
    s.env.update(
        SIAGA_RECORDINGS_DIR=str(recordings / "calls"), SIAGA_DISK__LOW_FREE_MB="1", SIAGA_DISK__CRITICAL_FREE_MB="1"
    )
    s.recordings = recordings / "calls"
    try:
        s.start()
        yield s
    finally:
        s.stop()
        shutil.rmtree(s.asterisk.dir, ignore_errors=True)
        subprocess.run(["umount", str(recordings)], check=False)


def talk_to_the_kuta_unit(system: System) -> dict:
    """A real 112 call: Indonesian, medical, Kuta; the unit answers, the caller hangs up after a few seconds."""
    caller = new_caller()
    with system.line("psc-kuta", answer_after=0.3) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=6) as citizen:
            unit.wait_for("answered", 20)
            citizen.wait_for("disconnected", 30)
    return system.case(caller, status={"ended"})


def world_open(root: Path) -> list[str]:
    """Every file or folder below ``root`` (itself included) that other users may read, write or enter."""
    found = []
    for folder, _dirs, files in os.walk(root):
        for path in [Path(folder)] + [Path(folder) / name for name in files]:
            if not path.is_symlink() and path.lstat().st_mode & stat.S_IRWXO:
                found.append(f"{path} {stat.filemode(path.lstat().st_mode)}")
    return found


def test_after_a_recorded_call_no_file_with_secrets_or_caller_data_is_open_to_other_users(system):
    """Checked: the Asterisk instance folder (rendered etc/ with the ARI and SIP passwords, Asterisk's logs,
    spool and astdb, the fallback journal), Asterisk's output log in var/log, the case journal folder, the
    SQLite database and the recordings folder with the call's WAV."""
    case = talk_to_the_kuta_unit(system)
    assert case["disposition"] == "completed" and case["recording"] == f"{case['ticket']}.wav"
    instance, journal = system.asterisk.dir, system.tmp / "journal"
    # The walks below are not vacuous: these are the files that matter most, each owner-only.
    owner_only = [
        instance / "etc" / "ari.conf",
        instance / "etc" / "pjsip.conf",
        instance / "journal" / "fallback.log",
        instance / "log" / "messages",
        LOGS / f"asterisk-{system.instance}.log",
        system.tmp / "cases.db",
        system.recordings / case["recording"],
        *(journal.glob("cases-*/journal.jsonl")),
    ]
    assert len(owner_only) == 8
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in owner_only} == dict.fromkeys(
        map(str, owner_only), "0o600"
    )
    for folder in (instance, instance / "etc", journal, system.recordings):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert world_open(instance) == []
    assert world_open(journal) == []
    assert world_open(system.recordings) == []
    assert [p.name for p in system.tmp.glob("cases.db*") if p.stat().st_mode & stat.S_IRWXO] == []
    health = system.health()
    assert health["disk"] == "ok" and set(health["disk_free_bytes"]) == {
        "journal",
        "recordings",
        "database",
        "asterisk_recordings",
        "asterisk_journal",
    }


def test_a_full_recordings_disk_shows_in_healthz_and_calls_still_complete_with_the_failure_on_the_case(system):
    filler = system.recordings.parent / "filler"
    try:
        with open(filler, "wb") as fh, pytest.raises(OSError, match="No space left"):
            fh.write(b"\0" * RECORDINGS_MB * 1024 * 1024)
        system.until(lambda: system.health().get("disk") == "critical", 15, '"disk": "critical" in /healthz')
        health = system.health()
        assert health["status"] == "ok" and health["disk_free_bytes"]["recordings"] < 1024 * 1024  # still 200
        case = talk_to_the_kuta_unit(system)
    finally:
        filler.unlink(missing_ok=True)
    assert (case["status"], case["disposition"], case["recording"]) == ("ended", "completed", None)
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [("psc-kuta", "answered")]
    [failed] = [e for e in case["events"] if e["kind"] == "recording.failed"]
    assert (
        failed["detail"]["file"] == f"{case['ticket']}.wav" and failed["detail"]["error"] == "No space left on device"
    )
    assert f"{case['ticket']} recording (" in system.service_log.read_text() and "No space left" in system.log_tail(200)
    assert not (system.recordings / f"{case['ticket']}.wav").exists()  # nothing half written either
    # The audio is not lost: it stays in Asterisk's recordings folder until our copy is written.
    spooled = host_files(system.settings).recordings / f"{call_recording(case['channel_id'])}.wav"
    assert spooled.stat().st_size > 44
    assert not list(system.recordings.glob(".*.tmp"))
    system.until(lambda: system.health().get("disk") == "ok", 15, '"disk": "ok" again once space is freed')
