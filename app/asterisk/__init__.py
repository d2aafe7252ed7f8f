"""Asterisk 22 for Siaga: configuration rendering and process management.

``AsteriskInstance(settings, directory, name)`` renders an instance's config
from the settings and the agency directory and runs it (host binary or the
project chroot, see ``find_asterisk``). Context and variable names shared with
the ARI side live in ``app.asterisk.constants``.
"""

from app.asterisk.locate import AsteriskError, AsteriskNotFound, Launcher, find_asterisk
from app.asterisk.ports import PortInUse
from app.asterisk.render import render
from app.asterisk.runtime import AsteriskInstance
from app.asterisk.secrets import endpoint_password

__all__ = [
    "AsteriskError",
    "AsteriskInstance",
    "AsteriskNotFound",
    "Launcher",
    "PortInUse",
    "endpoint_password",
    "find_asterisk",
    "render",
]
