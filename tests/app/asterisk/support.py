"""Helpers for the Asterisk tests (the fixtures using them are in conftest.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml

from app.asterisk import AsteriskNotFound, find_asterisk
from app.directory.schema import Directory
from app.settings import Settings
from tests.support.parts import need

HERE = Path(__file__).parent


def small_directory() -> Directory:
    return Directory.model_validate(yaml.safe_load((HERE / "directory.yaml").read_text()))


def free_port(kind: int) -> int:
    # Ports picked by the kernel: the tests do not clash with a running
    # `make run` (5060/8088) or with another test run on this machine.
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_on_free_ports(profile: str = "demo", rtp_base: int = 40000, **extra) -> Settings:
    return Settings.load(
        profile=profile,
        sip={"port": free_port(socket.SOCK_DGRAM), "rtp_start": rtp_base, "rtp_end": rtp_base + 999},
        ari={"port": free_port(socket.SOCK_STREAM), **extra.pop("ari", {})},
        webrtc={"tls_port": free_port(socket.SOCK_STREAM), **extra.pop("webrtc", {})},
        **extra,
    )


def need_asterisk() -> None:
    try:
        find_asterisk(Settings.load(profile="demo"))
        found = os.geteuid() == 0  # the chroot needs root
    except AsteriskNotFound:
        found = False
    need(found, "Asterisk 22 (host binary or the .asterisk/root chroot, run as root)")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
