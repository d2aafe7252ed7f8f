"""Turning a bad configuration into one line per problem: where, which key, why.

Principle: the person who has to fix a setting should not read a pydantic
traceback. Each problem is reported against the source that supplied the
value, strongest first (command-line option, ``DATABASE_URL``/``REDIS_URL``,
``SIAGA_<GROUP>__<KEY>``, the ``SIAGA_CONFIG`` file), e.g.
``siaga.toml: ari.port: Input should be a valid integer (got 'abc')`` or
``environment SIAGA_SIP__PORT: ...``. Secret values are never echoed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.settings import SettingsError

_CONVENTIONAL: dict[tuple[str, ...], str] = {("database", "url"): "DATABASE_URL", ("redis", "url"): "REDIS_URL"}
_SECRET = ("password", "secret", "token")


@dataclass(frozen=True)
class ConfigFile:
    name: str  # as given in SIAGA_CONFIG: the name the operator knows
    data: dict


def read_config(model: type[BaseModel], value: str | None) -> ConfigFile | None:
    """Read and check the ``SIAGA_CONFIG`` file before pydantic does, so its errors can be named."""
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise SettingsError(f"SIAGA_CONFIG={value}: file not found")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise SettingsError(f"SIAGA_CONFIG={value}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{value}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{value}: {_toml_problem(str(exc))}") from exc
    # A misspelt key would otherwise be ignored and the default used without a word.
    unknown = [f"{value}: {key}: unknown setting (known: {known})" for key, known in _unknown(model, data, ())]
    if unknown:
        raise SettingsError("\n".join(unknown))
    return ConfigFile(value, data)


def explain(exc: Exception, overrides: dict, config: ConfigFile | None) -> SettingsError:
    """A ``SettingsError`` for a pydantic ``ValidationError`` or pydantic-settings parse error."""
    if isinstance(exc, ValidationError):
        return SettingsError("\n".join(_line(e, overrides, config) for e in exc.errors()))
    # pydantic-settings: 'error parsing value for field "ari" from source "EnvSettingsSource"'
    field = re.search(r'field "(\w+)"', str(exc))
    where = f"environment SIAGA_{field.group(1).upper()}" if field else "settings"
    cause = exc.__cause__ or exc
    return SettingsError(f"{where}: cannot be parsed ({cause})")


def source_of(loc: tuple[str, ...]) -> str:
    """Where the value of setting ``loc`` (e.g. ``("ari", "password")``) came from, as in the lines above.

    For checks made after loading (``Settings.check_secrets``); the ``SIAGA_CONFIG``
    file was already read and checked by ``Settings.load``.
    """
    config = None
    name = os.environ.get("SIAGA_CONFIG")
    if name:
        try:
            config = ConfigFile(name, tomllib.loads(Path(name).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            config = None
    return _where(loc, {}, config)


def _line(error: ErrorDetails, overrides: dict, config: ConfigFile | None) -> str:
    loc = tuple(str(part) for part in error["loc"])
    value = error.get("input")
    secret = any(word in part.lower() for part in loc for word in _SECRET)
    got = "" if secret or isinstance(value, dict) or "input" not in error else f" (got {value!r})"
    return f"{_where(loc, overrides, config)}: {error['msg']}{got}"


def _where(loc: tuple[str, ...], overrides: dict, config: ConfigFile | None) -> str:
    dotted = ".".join(loc) or "settings"
    if loc and loc[0] in overrides:
        return f"option --{loc[0].replace('_', '-')}"
    if loc[:2] in _CONVENTIONAL and os.environ.get(_CONVENTIONAL[loc[:2]]):
        return f"environment {_CONVENTIONAL[loc[:2]]}"
    environ = {name.upper() for name in os.environ}  # pydantic-settings matches names case-insensitively
    for i in range(len(loc), 0, -1):
        name = "SIAGA_" + "__".join(loc[:i]).upper()
        if name in environ:
            rest = ".".join(loc[i:])
            return f"environment {name}" + (f": {rest}" if rest else "")
    if config is not None and _has(config.data, loc):
        return f"{config.name}: {dotted}"
    return dotted


def _has(data: Any, loc: tuple[str, ...]) -> bool:
    for part in loc:
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):  # an item of a list setting
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return False
    return True


def _unknown(model: type[BaseModel], data: dict, prefix: tuple[str, ...]):
    fields = model.model_fields
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            yield ".".join((*prefix, key)), ", ".join(fields)
            continue
        sub = field.annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            yield from _unknown(sub, value, (*prefix, key))


def _toml_problem(message: str) -> str:
    """``Invalid value (at line 3, column 8)`` -> ``line 3: TOML syntax error: Invalid value (column 8)``."""
    at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if at is None:
        return f"TOML syntax error: {message}"
    return f"line {at.group(1)}: TOML syntax error: {message[: at.start()]} (column {at.group(2)})"
