"""Loading IVR menus from YAML (one file per line) and the prompt catalogue check.

``load_menus`` only checks the shape (types, known keys) so a typo such as
``nxt:`` fails loudly; ``validate`` (from ``checks.py``) checks meaning.
Call both at start-up:

    menus = load_menus(settings=settings.ivr)
    validate(menus, catalogue_prompts())
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from app import paths
from ivr.engine.checks import validate
from ivr.engine.model import Choice, LineMenus, Menu, MenuError, MenuSet

if TYPE_CHECKING:
    from app.settings import IvrSettings

__all__ = ["load_menus", "validate", "catalogue_prompts", "MenuError", "MenuSet"]

_FILE_KEYS = {"line", "start", "languages", "default_language", "menus"}
_MENU_KEYS = {"prompt", "invalid", "timeout", "options", "on_timeout", "others"}
_CHOICE_KEYS = {"set", "next", "forward", "operator"}


def load_menus(folder: Path = paths.MENUS, settings: IvrSettings | None = None) -> MenuSet:
    """Every ``*.yaml`` in ``folder``; ``settings`` gives max_invalid and the default timeout."""
    max_invalid = getattr(settings, "max_invalid", 3)
    default_timeout = float(getattr(settings, "input_timeout_seconds", 5.0))
    lines: dict[str, LineMenus] = {}
    files = sorted(Path(folder).glob("*.yaml"))
    if not files:
        raise MenuError(f"{folder}: no menu files (*.yaml)")
    for path in files:
        line_menus = _load_file(path, default_timeout)
        if line_menus.line in lines:
            raise MenuError(f"{path.name}: line: {line_menus.line!r} is also in {lines[line_menus.line].source}")
        lines[line_menus.line] = line_menus
    return MenuSet(lines=lines, max_invalid=max_invalid, default_timeout=default_timeout)


def catalogue_prompts(path: Path = paths.PROMPTS_CATALOGUE) -> Callable[[str, str], bool]:
    """``prompt_exists(name, language)`` for ``validate``: true when the catalogue has the text."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    prompts = data.get("prompts") or {}

    def prompt_exists(name: str, language: str) -> bool:
        text = (prompts.get(name) or {}).get(language)
        return isinstance(text, str) and bool(text.strip())

    return prompt_exists


def _load_file(path: Path, default_timeout: float) -> LineMenus:
    src = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MenuError(f"{src}: not valid YAML: {exc}") from None
    _mapping(data, src, "", _FILE_KEYS, required={"line", "start", "menus"})
    menus = _mapping(data["menus"], src, "menus")
    languages = data.get("languages", ["id", "en"])
    if not isinstance(languages, list) or not languages:
        raise MenuError(f"{src}: languages: must be a non-empty list")
    return LineMenus(
        source=src,
        line=str(data["line"]),
        start=str(data["start"]),
        languages=tuple(str(lang) for lang in languages),
        default_language=str(data.get("default_language", languages[0])),
        menus={str(mid): _menu(str(mid), body, src, default_timeout) for mid, body in menus.items()},
    )


def _menu(mid: str, body: Any, src: str, default_timeout: float) -> Menu:
    key = f"menus.{mid}"
    _mapping(body, src, key, _MENU_KEYS, required={"prompt", "options"})
    timeout = body.get("timeout", default_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise MenuError(f"{src}: {key}.timeout: must be a positive number of seconds, not {timeout!r}")
    options = _mapping(body["options"], src, f"{key}.options")
    on_timeout = body.get("on_timeout", {"operator": True})  # silence never hangs up
    return Menu(
        id=mid,
        prompt=str(body["prompt"]),
        invalid_prompt=str(body.get("invalid", "invalid")),
        timeout=float(timeout),
        # An unquoted YAML key 1 is an int; "1" is what the caller presses.
        options={str(k): _choice(v, src, f"{key}.options.{k}") for k, v in options.items()},
        on_timeout=_choice(on_timeout, src, f"{key}.on_timeout"),
        others=_others(body.get("others"), src, f"{key}.others"),
    )


def _others(body: Any, src: str, key: str) -> Choice | None:
    if body is None:
        return None
    choice = _choice(body, src, key)
    if choice.next is None:
        raise MenuError(f"{src}: {key}: needs next: the menu where the digit then acts")
    return choice


def _choice(body: Any, src: str, key: str) -> Choice:
    _mapping(body, src, key, _CHOICE_KEYS)
    sets = _mapping(body.get("set", {}), src, f"{key}.set")
    choice = Choice(
        sets=tuple((str(f), str(v)) for f, v in sets.items()),
        next=None if body.get("next") is None else str(body["next"]),
        forward=body.get("forward") is True,
        operator=body.get("operator") is True,
    )
    ends = [
        name for name, on in (("next", choice.next), ("forward", choice.forward), ("operator", choice.operator)) if on
    ]
    if len(ends) != 1:
        raise MenuError(
            f"{src}: {key}: needs exactly one of next, forward: true, operator: true (has {ends or 'none'})"
        )
    return choice


def _mapping(
    value: Any, src: str, key: str, allowed: set[str] | None = None, required: Collection[str] = frozenset()
) -> dict:
    if not isinstance(value, dict):
        raise MenuError(f"{src}: {key or '(file)'}: must be a mapping, not {type(value).__name__}")
    prefix = f"{key}." if key else ""
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise MenuError(f"{src}: {prefix}{k}: unknown key (allowed: {', '.join(sorted(allowed))})")
    for k in sorted(set(required) - set(value)):
        raise MenuError(f"{src}: {prefix}{k}: missing")
    return value
