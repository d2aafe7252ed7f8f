"""`siaga asterisk render` writes the configuration that holds the ARI and SIP passwords for its owner only."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from app.asterisk.runtime import instance_folders
from app.settings import Settings
from tests.app.asterisk.support import need_asterisk

SIAGA = Path(sys.executable).parent / "siaga"


def test_asterisk_render_leaves_the_config_readable_by_its_owner_only(tmp_path):
    need_asterisk()
    name = f"test-render-modes-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")}
    env.update(
        SIAGA_PROFILE="production",
        SIAGA_ARI__PASSWORD="render-test-Zq4-Tr8-wq1",
        SIAGA_SIP__ENDPOINT_PASSWORD="render-test-Lp0-Xk9-mn2",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    launcher, folders = instance_folders(Settings.load(profile="demo"), name)
    instance = launcher.host_path(folders.root)
    try:
        # umask 0 for the command: the modes must not depend on the umask it inherits.
        result = subprocess.run(
            [str(SIAGA), "asterisk", "render", "--name", name], env=env, capture_output=True, text=True, umask=0
        )
        assert result.returncode == 0, result.stdout + result.stderr
        etc = instance / "etc"
        files = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in etc.iterdir()}
        assert {"ari.conf", "pjsip.conf", "extensions.conf", "asterisk.conf"} <= set(files)
        assert files == dict.fromkeys(files, "0o600")
        assert "render-test-Zq4-Tr8-wq1" in (etc / "ari.conf").read_text()
        for folder in [instance, *(launcher.host_path(f) for f in folders.all())]:
            assert oct(stat.S_IMODE(folder.stat().st_mode)) == "0o700", folder
    finally:
        shutil.rmtree(instance, ignore_errors=True)
