"""Free disk space: reported before a disk fills up, logged once per change, never a reason to refuse calls."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from pathlib import Path

import pytest

from app.asterisk.runtime import HostFiles
from app.settings import Settings, SettingsError
from ivr.disk import CRITICAL, LOW, MB, OK, DiskWatch, free_bytes, level, watched_folders
from tests.support.parts import need
from tests.support.waiting import eventually


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        ({}, OK),
        ({"journal": 5000, "recordings": 1000}, OK),
        ({"journal": 5000, "recordings": 999}, LOW),
        ({"journal": 99, "recordings": 5000}, CRITICAL),
        ({"journal": 100, "recordings": 100}, LOW),
    ],
)
def test_the_level_is_the_worst_folders(free, expected):
    assert level(free, low=1000, critical=100) == expected


class Space:
    """Free bytes per folder, as a test sets them."""

    def __init__(self, **free: int) -> None:
        self.free = {Path(k): v for k, v in free.items()}

    def __call__(self, folder: Path) -> int:
        if folder not in self.free:
            raise FileNotFoundError(folder)
        return self.free[folder]


def test_each_change_of_level_is_logged_once_and_shown_with_the_free_bytes(caplog):
    space = Space(j=900 * MB, r=900 * MB)
    watch = DiskWatch(
        {"journal": Path("j"), "recordings": Path("r")}, low_bytes=500 * MB, critical_bytes=100 * MB, measure=space
    )
    assert watch.status() == {"disk": OK, "disk_free_bytes": {"journal": 900 * MB, "recordings": 900 * MB}}
    caplog.set_level(logging.INFO, "siaga.disk")
    space.free[Path("r")] = 300 * MB
    watch.check()
    watch.check()
    assert watch.status()["disk"] == LOW and watch.status()["disk_free_bytes"]["recordings"] == 300 * MB
    space.free[Path("r")] = 50 * MB
    watch.check()
    assert watch.status()["disk"] == CRITICAL
    space.free[Path("r")] = 800 * MB
    watch.check()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "disk space low (below 500 MB free): {'recordings': '300 MB'}; calls go on"),
        (
            "ERROR",
            "disk space critical (below 100 MB free): {'recordings': '50 MB'}; calls go on, "
            "recordings and case writes may fail",
        ),
        ("INFO", "disk space ok again"),
    ]


def test_a_folder_that_cannot_be_measured_is_left_out_with_one_warning(caplog):
    watch = DiskWatch({"journal": Path("gone")}, low_bytes=10, critical_bytes=1, measure=Space())
    watch.check()
    assert watch.status() == {"disk": OK, "disk_free_bytes": {}}
    assert len([r for r in caplog.records if "cannot be measured" in r.getMessage()]) == 1


def test_a_folder_not_made_yet_is_measured_where_it_will_be(tmp_path):
    st = os.statvfs(tmp_path)
    assert abs(free_bytes(tmp_path / "not" / "yet") - st.f_bavail * st.f_frsize) < 64 * MB


def test_the_folders_watched_are_where_calls_leave_files(tmp_path):
    settings = Settings.load(
        profile="demo",
        journal_dir=tmp_path / "journal",
        recordings_dir=tmp_path / "rec",
        database={"url": f"sqlite:///{tmp_path / 'db' / 'siaga.db'}"},
    )
    here = HostFiles(tmp_path / "ast" / "journal" / "fallback.log", tmp_path / "ast" / "spool" / "recording")
    assert watched_folders(settings, here) == {
        "journal": tmp_path / "journal",
        "recordings": tmp_path / "rec",
        "database": tmp_path / "db",
        "asterisk_recordings": tmp_path / "ast" / "spool" / "recording",
        "asterisk_journal": tmp_path / "ast" / "journal",
    }
    postgres = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": "postgresql://h/x"})}
    )
    assert set(watched_folders(postgres, None)) == {"journal", "recordings"}


def test_thresholds_are_settings_and_critical_cannot_be_above_low(monkeypatch):
    monkeypatch.setenv("SIAGA_DISK__LOW_FREE_MB", "100")
    monkeypatch.setenv("SIAGA_DISK__CRITICAL_FREE_MB", "200")
    with pytest.raises(SettingsError, match=r"disk.critical_free_mb \(200\) must not be above disk.low_free_mb"):
        Settings.load()
    monkeypatch.setenv("SIAGA_DISK__CRITICAL_FREE_MB", "20")
    watch = DiskWatch.from_settings(Settings.load(profile="demo"), None)
    assert (watch.low, watch.critical) == (100 * MB, 20 * MB)


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of 1 MB (tmpfs), unmounted afterwards."""
    need(os.geteuid() == 0, "root (to mount a small tmpfs)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


async def test_a_disk_filling_up_is_seen_within_the_check_interval(small_disk):
    watch = DiskWatch({"recordings": small_disk}, low_bytes=600 * 1024, critical_bytes=200 * 1024, every=0.05)
    assert watch.status() == {"disk": OK, "disk_free_bytes": {"recordings": 1024 * 1024}}
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run(stop))
    try:
        (small_disk / "a.wav").write_bytes(b"\0" * 600 * 1024)
        await eventually(lambda: watch.status()["disk"] == LOW)
        with pytest.raises(OSError, match="No space left"):
            (small_disk / "b.wav").write_bytes(b"\0" * 600 * 1024)
        await eventually(lambda: watch.status()["disk"] == CRITICAL)
        assert watch.status()["disk_free_bytes"]["recordings"] < 200 * 1024
    finally:
        stop.set()
        await task
