"""Render one Asterisk instance's configuration from the settings and the directory.

Every ``*.j2`` file in ``asterisk-config/`` and ``dialplan/`` becomes a file
of the same name (without ``.j2``) in ``<instance>/etc/``. Templates get
plain data (endpoints, per-line fallback plans) computed here and the names
from ``app.asterisk.constants``; they hold no logic beyond loops and ifs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jinja2

from app import paths
from app.asterisk import constants as c
from app.asterisk import tls
from app.asterisk.secrets import endpoint_password
from app.asterisk.webrtc import web_endpoint
from app.directory.schema import Directory
from app.files import private_dir, write_private
from app.settings import Settings

TEMPLATE_DIRS = (paths.ASTERISK_CONFIG, paths.DIALPLAN)
FORMAT_ATTRS = [
    f"res_format_attr_{n}.so"
    for n in ("opus", "g729", "ilbc", "silk", "siren7", "siren14", "celt", "amr", "h263", "h264", "vp8")
]
ARI_MODULES = [
    f"res_ari_{n}.so"
    for n in (
        "model",
        "applications",
        "asterisk",
        "bridges",
        "channels",
        "device_states",
        "endpoints",
        "events",
        "playbacks",
        "recordings",
        "sounds",
    )
]
# The browser softphones' extra modules: SIP over WebSocket, DTLS-SRTP and Opus.
WEBRTC_MODULES = ["res_pjsip_transport_websocket.so", "res_srtp.so", "codec_opus_open_source.so"]
TLS_CERT, TLS_KEY = "webrtc-cert.pem", "webrtc-key.pem"  # copied into <instance>/etc for the HTTPS server
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class Folders:
    """An instance's folders as Asterisk sees them (inside the chroot, if any)."""

    root: PurePosixPath

    etc = property(lambda self: self.root / "etc")
    run = property(lambda self: self.root / "run")
    log = property(lambda self: self.root / "log")
    spool = property(lambda self: self.root / "spool")
    lib = property(lambda self: self.root / "lib")
    cache = property(lambda self: self.root / "cache")

    journal = property(lambda self: self.root / "journal")

    @property
    def fallback_journal(self) -> PurePosixPath:
        # The dialplan fallback appends one line per call here (start, end), so the call
        # service can write those cases even when it was down while they happened.
        return self.journal / "fallback.log"

    @property
    def recordings(self) -> PurePosixPath:
        # Where ARI recordings land (Asterisk's spool "recording" folder).
        return self.spool / "recording"

    def all(self) -> list[PurePosixPath]:
        return [self.etc, self.run, self.log, self.recordings, self.lib, self.cache, self.journal]


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "operator", "fallback group" or "unit"
    display: str
    password: str


@dataclass(frozen=True)
class LinePlan:
    """What [siaga-fallback] does for one line, in order."""

    number: str
    group_name: str
    group_dial: str
    group_timeout: int
    agency: str | None
    agency_dial: str
    agency_timeout: int


def render(settings: Settings, directory: Directory, instance_dir: Path, inside: PurePosixPath | None = None) -> None:
    """Write the instance's configuration to ``instance_dir/etc/``.

    ``inside`` is the same folder as Asterisk sees it (its path in the chroot);
    it defaults to ``instance_dir`` for a host Asterisk. The files hold the ARI
    and SIP passwords: 0600 in 0700 folders, whatever the umask.
    """
    settings.check_secrets()
    etc = private_dir(private_dir(instance_dir) / "etc")
    env = _environment()
    dirs = Folders(PurePosixPath(inside or instance_dir))
    data = _template_data(settings, directory, dirs)
    data["tls"] = _install_tls(settings, etc, dirs)
    for folder in TEMPLATE_DIRS:
        for template in sorted(Path(folder).glob("*.j2")):
            text = env.get_template(template.name).render(**data)
            write_private(etc / template.name.removesuffix(".j2"), text)


def sip_endpoints(settings: Settings, directory: Directory) -> list[Endpoint]:
    """Every endpoint that registers to us: operators, fallback-group phones, units, call-takers' SIP phones."""
    wanted: dict[str, tuple[str, str]] = {}
    for n in range(1, settings.asterisk.operators + 1):
        wanted.setdefault(c.operator_endpoint(n), ("operator", f"Operator {n}"))
    for dial in directory.fallback_group.dial:
        name = registering_endpoint(dial)
        if name:
            wanted.setdefault(name, ("fallback group", directory.fallback_group.name))
    for unit in directory.units:
        if unit.endpoint:
            wanted.setdefault(unit.endpoint, ("unit", unit.name))
    for agent in directory.agents:
        wanted.setdefault(agent.name, ("agent", f"Agent {agent.name}"))
    for name in wanted:
        if name == c.TRUNK_ENDPOINT or not _NAME.match(name):
            raise ValueError(f"directory: {name!r} cannot be a SIP endpoint name")
    return [
        Endpoint(name, kind, display, endpoint_password(settings, name)) for name, (kind, display) in wanted.items()
    ]


def webrtc_endpoints(settings: Settings, directory: Directory) -> list[Endpoint]:
    """Each call-taker's browser softphone ``<agent>-web``, with the password of the agent's SIP phone."""
    taken = {e.name for e in sip_endpoints(settings, directory)} | {c.TRUNK_ENDPOINT}
    endpoints = []
    for agent in directory.agents:
        name = web_endpoint(agent.name)
        if name in taken:
            raise ValueError(f"directory: {name!r} is both an agent's browser phone and another endpoint")
        endpoints.append(
            Endpoint(name, "browser phone", f"Agent {agent.name}", endpoint_password(settings, agent.name))
        )
    return endpoints


def registering_endpoint(dial: str) -> str | None:
    """``PJSIP/<name>`` (no ``@``) is a phone that registers to us; anything else is not."""
    tech, _, rest = dial.partition("/")
    return rest if tech.upper() == "PJSIP" and rest and "@" not in rest else None


def line_plans(directory: Directory) -> list[LinePlan]:
    group = directory.fallback_group
    plans = []
    for number in c.LINES:
        line = directory.lines.get(number)
        agency = line.default_agency if line else None
        units = [u for u in directory.units if agency and u.agency == agency]
        plans.append(
            LinePlan(
                number=number,
                group_name=group.name,
                group_dial="&".join(group.dial),
                group_timeout=group.ring_timeout,
                agency=agency,
                agency_dial="&".join(u.dial for u in units),
                agency_timeout=max((u.ring_timeout for u in units), default=20),
            )
        )
    return plans


def _template_data(settings: Settings, directory: Directory, dirs: Folders) -> dict:
    bind = settings.sip.bind_host
    # Set by now: the demo profile fills it in, elsewhere check_secrets() refuses to run without it.
    assert settings.ari.password is not None
    responders = [{"exten": u.id, "sound": c.demo_sound(u.id)} for u in directory.units]
    responders.append({"exten": c.DEMO_FALLBACK_EXTEN, "sound": c.demo_sound(c.DEMO_FALLBACK_EXTEN)})
    return {
        "c": c,
        "settings": settings,
        "instance": dirs.root.name,
        "dirs": dirs,
        "demo": settings.demo,
        "ari_password": settings.ari.password.get_secret_value(),
        "media_address": None if bind in _WILDCARDS else bind,
        "endpoints": sip_endpoints(settings, directory),
        "web_endpoints": webrtc_endpoints(settings, directory),
        "webrtc_modules": WEBRTC_MODULES,
        "lines": line_plans(directory),
        "journal_file": str(dirs.fallback_journal),
        "hold_sounds": [c.sound(c.PROMPT_PLEASE_HOLD, lang) for lang in c.PROMPT_LANGUAGES],
        "demo_responders": responders,
        "format_attrs": FORMAT_ATTRS,
        "ari_modules": ARI_MODULES,
    }


def _install_tls(settings: Settings, etc: Path, dirs: Folders) -> dict | None:
    """Copy the HTTPS certificate into the instance (a chroot cannot read var/tls); None: no TLS.

    Without a certificate (bootstrap makes one) or with ``webrtc.tls_port`` 0, Asterisk serves
    plain HTTP only: browser phones then work from this machine only (``ws://`` on loopback).
    """
    webrtc = settings.webrtc
    if not tls.enabled(settings):
        return None
    write_private(etc / TLS_CERT, Path(webrtc.cert_file).read_bytes())
    write_private(etc / TLS_KEY, Path(webrtc.key_file).read_bytes())
    return {"port": webrtc.tls_port, "cert": str(dirs.etc / TLS_CERT), "key": str(dirs.etc / TLS_KEY)}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["conf"] = _conf_value
    env.filters["callerid"] = lambda v: re.sub(r'["<>;\r\n]', "", str(v))
    env.globals["var"] = lambda name: "${" + name + "}"
    return env


def _conf_value(value: object) -> str:
    """A value safe on one line of an Asterisk .conf file (``;`` starts a comment)."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("a configuration value cannot contain a line break")
    return text.replace(";", r"\;")
