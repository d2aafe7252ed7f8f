"""One Asterisk process per instance folder.

Principle: an instance is a folder (config, run, log, spool, db) plus at most
one process owned by the Python object that started it. ``start()`` refuses to
start over busy ports and returns only once Asterisk is fully booted;
``stop()`` escalates (core stop gracefully, core stop now, SIGTERM, SIGKILL)
until the process is gone, so neither a failing test nor Ctrl-C leaves an
Asterisk behind. Instances with different names and ports run side by side.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import time
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from app import paths
from app.asterisk.locate import ENV, AsteriskError, Launcher, find_asterisk
from app.asterisk.ports import check_free
from app.asterisk.render import Folders, render
from app.directory.schema import Directory
from app.files import append_private, private_dir, write_private
from app.settings import Settings

CHROOT_INSTANCES = PurePosixPath("/var/lib/siaga")  # inside the chroot
LOGS = paths.VAR / "log"
ASTERISK_UMASK = 0o077


def instance_folders(settings: Settings, name: str, launcher: Launcher | None = None) -> tuple[Launcher, Folders]:
    """Where instance ``name`` lives, without building it (the call service reads its journal)."""
    launcher = launcher or find_asterisk(settings)
    inside = CHROOT_INSTANCES / name if launcher.chroot else PurePosixPath(paths.VAR / "asterisk" / name)
    return launcher, Folders(inside)


class HostFiles(NamedTuple):
    """What the call service reads of the configured instance, as paths on this host."""

    fallback_journal: Path  # the dialplan fallback's journal
    recordings: Path  # Asterisk's recordings folder (MixMonitor writes every call there)


def host_files(settings: Settings) -> HostFiles:
    """The configured instance's files on this host; raises ``AsteriskError`` when Asterisk is not here."""
    launcher, folders = instance_folders(settings, settings.asterisk.instance)
    return HostFiles(launcher.host_path(folders.fallback_journal), launcher.host_path(folders.recordings))


class AsteriskInstance:
    def __init__(self, settings: Settings, directory: Directory, name: str = "main", launcher: Launcher | None = None):
        self.settings = settings
        self.directory = directory
        self.name = name
        self.launcher = launcher or find_asterisk(settings)
        _, self.folders = instance_folders(settings, name, self.launcher)  # as Asterisk sees them
        inside = self.folders.root
        self.dir = self.launcher.host_path(inside)  # the same folder on the host
        self.log_path = LOGS / f"asterisk-{name}.log"
        self._proc: subprocess.Popen | None = None

    # -- where things are ------------------------------------------------------
    @property
    def config(self) -> PurePosixPath:
        return self.folders.etc / "asterisk.conf"

    @property
    def fallback_journal(self) -> Path:
        return self.launcher.host_path(self.folders.fallback_journal)

    @property
    def recordings_dir(self) -> Path:
        return self.launcher.host_path(self.folders.recordings)

    @property
    def sounds_dir(self) -> Path:
        return self.launcher.sounds_dir

    @property
    def running(self) -> bool:
        """Whether the process this object started is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle -----------------------------------------------------------
    def render(self, prompts: Path | None = paths.PROMPTS_BUILD) -> None:
        """Write the configuration; install the built prompts into the sounds folder."""
        private_dir(self.dir)
        for folder in self.folders.all():
            private_dir(self.launcher.host_path(folder))
        render(self.settings, self.directory, self.dir, inside=self.folders.root)
        if prompts is not None and (Path(prompts) / "siaga").is_dir():
            from app.prompts import install_prompts

            install_prompts(Path(prompts), self.sounds_dir)

    def start(self, timeout: float = 60) -> AsteriskInstance:
        if self.running:
            return self
        self._stop_leftover()
        check_free(self.settings, self.name, self.launcher.host_path(self.folders.run / "asterisk.pid"))
        self.render()
        private_dir(LOGS)
        with append_private(self.log_path) as log:
            log.write(f"\n==== siaga: starting instance {self.name} at {time.strftime('%F %T')}\n".encode())
            log.flush()
            # A session of its own: Ctrl-C in the terminal reaches Python, which
            # then stops Asterisk in order instead of killing it mid-call.
            self._proc = proc = subprocess.Popen(
                self.launcher.command("-f", "-n", "-C", str(self.config)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=ENV,
                start_new_session=True,
                # Asterisk (root in the chroot) creates recordings, its logs and the fallback journal
                # with the process umask: owner only.
                umask=ASTERISK_UMASK,
            )
        atexit.register(self.stop)
        try:
            self._wait_booted(proc, time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        write_private(self._owner_file, str(os.getpid()))
        return self

    def stop(self, step_timeout: float = 5) -> None:
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        steps = (
            lambda: self._rx("core stop gracefully", step_timeout),
            lambda: self._rx("core stop now", step_timeout),
            proc.terminate,
            proc.kill,
        )
        for step in steps:
            try:
                step()
            except (AsteriskError, OSError, subprocess.SubprocessError):
                pass  # the next, harder step follows
            try:
                proc.wait(timeout=step_timeout)
                return
            except subprocess.TimeoutExpired:
                continue
        proc.wait()

    def wait(self) -> int | None:
        """Block until the process this object started exits; its exit code (None if none was started)."""
        proc = self._proc
        return proc.wait() if proc is not None else None

    def _stop_leftover(self) -> None:
        """An Asterisk of this same instance left by a run that was killed: stop it, it is ours.

        One whose owner (the process that started it) is still alive is left alone, and this start
        is refused: its ``core waitfullybooted`` would answer for the other one.
        """
        owner = self._owner()
        if owner and owner != os.getpid() and _alive(owner):
            if self.answering():  # another run's, alive: never render over it, nor take it for ours
                raise AsteriskError(
                    f"Asterisk instance '{self.name}' is already running, started by process {owner}: "
                    "is `siaga run` (or `make run`) already running?"
                )
            return
        if not self.answering():
            return
        print(f"stopping a leftover Asterisk of instance '{self.name}' from an earlier run", flush=True)
        for command in ("core stop now",):
            try:
                self._rx(command, 10)
            except AsteriskError:
                pass
        deadline = time.monotonic() + 10
        while self.answering() and time.monotonic() < deadline:
            time.sleep(0.2)

    @property
    def _owner_file(self) -> Path:
        return self.launcher.host_path(self.folders.run / "owner.pid")

    def _owner(self) -> int:
        try:
            return int(self._owner_file.read_text().strip())
        except (OSError, ValueError):
            return 0

    def cli(self, command: str, timeout: float = 30) -> str:
        """Run one Asterisk CLI command (``asterisk -rx``) and return its output."""
        return self._rx(command, timeout)

    def answering(self) -> bool:
        """Whether an Asterisk (started by anyone) answers on this instance's control socket."""
        try:
            self._rx("core show uptime", 10)
            return True
        except AsteriskError:
            return False

    def __enter__(self) -> AsteriskInstance:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------
    def _rx(self, command: str, timeout: float) -> str:
        try:
            out = subprocess.run(
                self.launcher.command("-C", str(self.config), "-rx", command),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=ENV,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskError(f"asterisk -rx {command!r} timed out after {timeout}s") from exc
        if out.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r} failed: {(out.stderr or out.stdout).strip()}")
        return out.stdout

    def _wait_booted(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        # The control socket appears a moment after the process starts; until
        # then "asterisk -rx" fails at once, so poll until the deadline.
        while True:
            if proc.poll() is not None:
                raise AsteriskError(
                    f"Asterisk ({self.name}) exited with code {proc.returncode} while starting:\n{self._log_tail()}"
                )
            try:
                self._rx("core waitfullybooted", max(1.0, deadline - time.monotonic()))
                return
            except AsteriskError:
                if time.monotonic() > deadline:
                    raise AsteriskError(
                        f"Asterisk ({self.name}) did not finish booting in time:\n{self._log_tail()}"
                    ) from None
                time.sleep(0.1)

    def _log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log_path})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
