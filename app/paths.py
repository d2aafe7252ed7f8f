"""Where things live in a checkout. Everything is relative to the project root."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("SIAGA_ROOT", Path(__file__).resolve().parent.parent))
VAR = ROOT / "var"
RECORDINGS = ROOT / "recordings"
ASTERISK_CONFIG = ROOT / "asterisk-config"
DIALPLAN = ROOT / "dialplan"
ASTERISK_CHROOT = ROOT / ".asterisk" / "root"
PROMPTS_CATALOGUE = ROOT / "app" / "prompts" / "catalogue.yaml"
PROMPTS_BUILD = VAR / "prompts"
MENUS = ROOT / "ivr" / "menus"
DEMO_DIRECTORY = ROOT / "app" / "directory" / "demo-badung.yaml"
