"""Typed settings, grouped by subsystem.

Sources, strongest first: environment (``SIAGA_<GROUP>__<KEY>``, plus the
conventional ``DATABASE_URL`` and ``REDIS_URL``), then one optional TOML file
named by ``SIAGA_CONFIG``. Secrets have no defaults outside the ``demo``
profile: ``Settings.load()`` refuses to start instead of running with a
password everybody knows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app import paths

DEMO_SECRET = "siaga-demo"
WEBAPP_SECRET_MIN = 32


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the key."""


class AriSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8088
    user: str = "siaga"
    password: SecretStr | None = None
    app: str = "siaga"
    reconnect_max_seconds: float = 5.0
    # Send REST requests over the events websocket when Asterisk takes them (22.3+); HTTP otherwise.
    rest_over_websocket: bool = True

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/ari"


class SipSettings(BaseModel):
    bind_host: str = "127.0.0.1"
    port: int = 5060
    trunk_match: str = "127.0.0.1"  # source address(es) of the telco trunk
    trunk_host: str = "127.0.0.1"  # where numbers dialled "over the trunk" go
    trunk_port: int = 5070
    rtp_start: int = 10000
    rtp_end: int = 20000
    endpoint_password: SecretStr | None = None  # units and operators; generated when unset


class AsteriskSettings(BaseModel):
    binary: str | None = None  # host asterisk; None = auto (host binary or project chroot)
    chroot: Path = paths.ASTERISK_CHROOT
    operators: int = 4  # command-center call-taker endpoints operator-1..N
    instance: str = "main"  # the instance folder the call service reads the fallback journal from


class WatchdogSettings(BaseModel):
    grace_seconds: float = 2.0  # the call service unhealthy this long: callers go to the fallback route
    poll_seconds: float = 0.5


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class WebAppSettings(BaseModel):
    """The web application for call-takers (``siaga web``; docs/WEB.md). ``web`` is the call service's /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    session_hours: float = Field(12.0, gt=0)  # a page session lasts one shift, then the login page again
    token_minutes: float = Field(60.0, gt=0)  # API bearer tokens (OAuth2 password flow)
    # Wrong passwords allowed within the window, per user name and per client address; then 429.
    login_attempts: int = Field(5, ge=1)
    login_attempts_per_address: int = Field(20, ge=1)
    login_window_seconds: float = Field(300.0, gt=0)
    # Signs tokens and session cookies; unset: generated once into var/secrets/web-secret (0600).
    secret: SecretStr | None = None
    secret_file: Path = paths.VAR / "secrets" / "web-secret"


class WebRtcSettings(BaseModel):
    """The agents' browser softphones: SIP over WebSocket to Asterisk's own HTTP server (docs/WEB.md).

    ``ws://`` on ``ari.host:ari.port`` is offered only while that is loopback; anywhere else
    browsers use ``wss://`` on ``tls_port`` with this certificate (bootstrap makes a self-signed one).
    """

    tls_port: int = Field(8089, ge=0, le=65535)  # 0: no TLS (and so no browser phones beyond loopback)
    cert_file: Path = paths.VAR / "tls" / "asterisk.pem"
    key_file: Path = paths.VAR / "tls" / "asterisk.key"
    # The name browsers reach Asterisk by (the certificate's name); unset: ari.host.
    public_host: str | None = None
    # No audio from a browser phone in a call this long: Asterisk ends its leg (a browser gone without a
    # BYE), and the caller goes to the fallback group rather than wait in silence.
    rtp_timeout_seconds: int = Field(8, ge=3, le=300)


class DatabaseSettings(BaseModel):
    url: str = f"sqlite:///{paths.VAR / 'siaga.db'}"


class RedisSettings(BaseModel):
    url: str | None = "redis://127.0.0.1:6379/0"


class QueueSettings(BaseModel):
    """Callers waiting for a call-taker (lines and categories with ``routing: agents`` in the directory)."""

    # Agents are available but none has answered this long: the call goes on as direct (the unit
    # chosen from the IVR's answers, then the fallback group). A 112 caller never waits without bound.
    max_wait_seconds: float = Field(30.0, gt=0, le=300)
    ring_seconds: int = Field(12, ge=3, le=60)  # one agent's phones ring this long, then the next agent
    wrapup_seconds: float = Field(30.0, ge=0, le=3600)  # after a call, before the agent is offered the next


class InternalSettings(BaseModel):
    """The channel the web app sends agent commands on: the call service's loopback HTTP server
    (``web.host``:``web.port``, under /internal), each request carrying this shared secret."""

    # Unset: generated once into secret_file (0600); both processes on this machine read it.
    secret: SecretStr | None = Field(None, min_length=32)
    secret_file: Path = paths.VAR / "secrets" / "internal-secret"


class IvrSettings(BaseModel):
    input_timeout_seconds: float = 5.0
    max_invalid: int = 3
    # Surge guard (ivr/surge.py), two levels, complaints first. While the median ARI round trip of the
    # last 2 s is at or above shed_14084_above_ms, new 14084 callers go straight to the dialplan fallback
    # route; at or above shed_above_ms, new callers of both lines do. Each level ends below its resume
    # level. shed_above_ms = 0 turns the guard off; shed_14084_above_ms = 0 sheds 14084 only with 112.
    # Round trips: ~1 ms idle, up to ~40 ms under the sustained rate (docs/PERFORMANCE.md, round 5).
    shed_14084_above_ms: float = Field(80.0, ge=0)
    resume_14084_below_ms: float = Field(30.0, ge=0)
    shed_above_ms: float = Field(150.0, ge=0)
    resume_below_ms: float = Field(40.0, ge=0)
    # A caller whose hand-over to the fallback route has failed this long makes the service report
    # itself unhealthy (503): the watchdog then takes the callers over its own ARI connection.
    handover_unhealthy_seconds: float = Field(3.0, gt=0)

    @model_validator(mode="after")
    def _surge_levels(self) -> IvrSettings:
        if not self.shed_above_ms:  # the guard is off: the other levels do not matter
            return self
        _below(self, "resume_below_ms", "shed_above_ms", "")
        if self.shed_14084_above_ms:
            _below(self, "shed_14084_above_ms", "shed_above_ms", ": 14084 callers are shed before 112 callers")
            _below(self, "resume_14084_below_ms", "shed_14084_above_ms", "")
        return self


class DiskSettings(BaseModel):
    # Free space where calls leave files (ivr/disk.py), in MB: /healthz says "low" or "critical" and
    # one line is logged; calls go on either way. A recorded minute of a call is about 1 MB.
    low_free_mb: int = Field(1024, ge=0)
    critical_free_mb: int = Field(256, ge=0)

    @model_validator(mode="after")
    def _critical_below_low(self) -> DiskSettings:
        if self.critical_free_mb > self.low_free_mb:
            raise ValueError(
                f"disk.critical_free_mb ({self.critical_free_mb}) must not be above "
                f"disk.low_free_mb ({self.low_free_mb})"
            )
        return self


class RetentionSettings(BaseModel):
    """How long caller data is kept (UU 27/2022: personal data no longer than its purpose needs).

    ``siaga retention run`` removes what is older; the reasons for the defaults are in the README.
    """

    recordings_days: int = Field(90, ge=1)  # call recordings (voices): review of complaints and incidents
    logs_days: int = Field(30, ge=1)  # rotated Asterisk logs and fallback journals, rejected journal lines
    live_call_hours: float = Field(4.0, gt=0)  # Redis copy of an active call (renewed by each of its events)


def _below(ivr: IvrSettings, low: str, high: str, why: str) -> None:
    if getattr(ivr, low) >= getattr(ivr, high):
        raise ValueError(f"ivr.{low} ({getattr(ivr, low):g}) must be below ivr.{high} ({getattr(ivr, high):g}){why}")


class CasesSettings(BaseModel):
    """What a call-taker may call a case, and when a number's prank calls flag it (``app.cases.work``)."""

    classifications: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=32)]] = Field(
        default_factory=lambda: ["emergency", "information", "silent", "prank", "wrong-number"], min_length=1
    )
    # A caller number with at least prank_threshold calls classified "prank" within the window is flagged.
    prank_threshold: int = Field(3, ge=1)
    prank_window_days: float = Field(30, gt=0)

    @model_validator(mode="after")
    def _distinct(self) -> CasesSettings:
        twice = sorted({c for c in self.classifications if self.classifications.count(c) > 1})
        if twice:
            raise ValueError(f"cases.classifications names {', '.join(twice)} more than once")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIAGA_", env_nested_delimiter="__", extra="ignore")

    profile: Literal["demo", "production"] = "production"
    directory: Path = paths.DEMO_DIRECTORY
    recordings_dir: Path = paths.RECORDINGS
    journal_dir: Path = paths.VAR / "journal"
    ari: AriSettings = Field(default_factory=AriSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    asterisk: AsteriskSettings = Field(default_factory=AsteriskSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    webapp: WebAppSettings = Field(default_factory=WebAppSettings)
    webrtc: WebRtcSettings = Field(default_factory=WebRtcSettings)
    watchdog: WatchdogSettings = Field(default_factory=WatchdogSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    internal: InternalSettings = Field(default_factory=InternalSettings)
    disk: DiskSettings = Field(default_factory=DiskSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    cases: CasesSettings = Field(default_factory=CasesSettings)

    @property
    def demo(self) -> bool:
        return self.profile == "demo"

    @model_validator(mode="after")
    def _demo_secrets(self) -> Settings:
        # The demo profile is the only place a well-known password is allowed.
        if self.demo:
            if self.ari.password is None:
                self.ari.password = SecretStr(DEMO_SECRET)
            if self.sip.endpoint_password is None:
                self.sip.endpoint_password = SecretStr(DEMO_SECRET)
        return self

    def check_secrets(self) -> None:
        """Refuse to run with a password someone could guess (``app.passwords.RULE``), naming source and key.

        Outside the demo profile every password must pass the rule, and the ARI
        password must be set. In the demo profile a password must pass it once
        what it guards listens beyond loopback: SIP (``sip.bind_host``) for the
        endpoint password, Asterisk's HTTP server (``ari.host``) for the ARI
        password; the well-known demo password never does. Called by anything
        that serves calls or HTTP; read-only tools (``siaga cases list``) do not
        need the secrets and do not call it.
        """
        from app.passwords import RULE, is_loopback, weakness
        from app.settings_errors import source_of

        if not self.demo and self.ari.password is None:
            raise SettingsError("ari.password is required outside the demo profile (set SIAGA_ARI__PASSWORD)")
        guarded = (
            (("ari", "password"), self.ari.password, self.ari.user, ("ari", "host"), self.ari.host),
            (("sip", "endpoint_password"), self.sip.endpoint_password, None, ("sip", "bind_host"), self.sip.bind_host),
        )
        problems = []
        for key, secret, user, bind_key, host in guarded:
            if secret is None or (self.demo and is_loopback(host)):
                continue
            why = weakness(secret.get_secret_value(), user)
            if why is None:
                continue
            if self.demo:
                what = "the demo profile's well-known password" if secret.get_secret_value() == DEMO_SECRET else why
                bind = ".".join(bind_key)
                problems.append(
                    f"{source_of(key)}: refused while {bind} is {host!r}, not loopback: {what} "
                    f"(set {_env(key)} to a password with {RULE}, or bind {bind} to 127.0.0.1)"
                )
            else:
                problems.append(f"{source_of(key)}: refused outside the demo profile: {why} (the rule: {RULE})")
        if problems:
            raise SettingsError("\n".join(problems))

    def check_webapp(self) -> None:
        """Refuse to serve the web app with a guessable signing secret or demo users beyond loopback.

        The demo users' password is the well-known demo password: the demo profile
        may serve them only while ``webapp.host`` is loopback (``web.auth`` also
        refuses that password at every login outside that case).
        """
        from app.passwords import is_loopback
        from app.settings_errors import source_of

        problems = []
        secret = self.webapp.secret
        if secret is not None and len(secret.get_secret_value()) < WEBAPP_SECRET_MIN:
            problems.append(
                f"{source_of(('webapp', 'secret'))}: shorter than {WEBAPP_SECRET_MIN} characters "
                "(unset it to have one generated, or use `openssl rand -base64 48`)"
            )
        if self.demo and not is_loopback(self.webapp.host):
            problems.append(
                f"{source_of(('webapp', 'host'))}: refused while webapp.host is {self.webapp.host!r}, not loopback: "
                "the demo users have the demo profile's well-known password (bind webapp.host to 127.0.0.1, "
                "or run outside the demo profile with users of your own)"
            )
        if problems:
            raise SettingsError("\n".join(problems))

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        sources = [init_settings, _ConventionalEnv(settings_cls), env_settings]
        config = os.environ.get("SIAGA_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @classmethod
    def load(cls, **overrides) -> Settings:
        """Settings from overrides, then the environment, then the ``SIAGA_CONFIG`` file.

        Any bad value raises ``SettingsError`` naming its source (file or
        environment variable), the key and the reason (see ``app.settings_errors``).
        """
        from pydantic import ValidationError
        from pydantic_settings import SettingsError as SourceError

        from app.settings_errors import explain, read_config

        config = read_config(cls, os.environ.get("SIAGA_CONFIG"))
        try:
            return cls(**overrides)
        except (ValidationError, SourceError) as exc:
            raise explain(exc, overrides, config) from exc


def _env(key: tuple[str, ...]) -> str:
    return "SIAGA_" + "__".join(key).upper()


class _ConventionalEnv(PydanticBaseSettingsSource):
    """``DATABASE_URL`` and ``REDIS_URL``, the names every tool already uses."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return None, field_name, False

    def __call__(self) -> dict:
        out: dict = {}
        if os.environ.get("DATABASE_URL"):
            out["database"] = {"url": os.environ["DATABASE_URL"]}
        if os.environ.get("REDIS_URL"):
            out["redis"] = {"url": os.environ["REDIS_URL"]}
        return out
