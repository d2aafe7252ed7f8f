"""Who is acting: the operating-system account, since the CLI is the only admin interface today."""

from __future__ import annotations

import getpass
import os


def os_actor() -> str:
    """The account running this process, and who became it through sudo (``root (sudo by wayan)``)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # a uid with no name, e.g. in a bare container
        user = f"uid {os.getuid()}"
    sudo = os.environ.get("SUDO_USER")
    return f"{user} (sudo by {sudo})" if sudo and sudo != user else user
