"""Reading and checking a directory file.

A directory that loads is one the call flow can trust: every key is one the
schema knows, every name it refers to exists, every routed category has
somewhere to ring, every dial string is one of the safe forms (a registered
line, a number over the trunk, a Local channel into a context that answers as
a unit, never one that leads back into a line). Every problem is reported as
``<file>: <entry>: <reason>``, with the file's full path, so the person editing
the YAML finds it at once.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.asterisk import constants as c
from app.directory.schema import DISTRICTS_112, Directory

REQUIRED_112 = ("medical", "fire", "police", "sar", "operator")
DIAL = re.compile(
    r"^(PJSIP/[A-Za-z0-9][A-Za-z0-9_.-]*"  # a line registered to our Asterisk
    rf"|PJSIP/\+?[0-9]+@{re.escape(c.TRUNK_ENDPOINT)}"  # a number over the telco trunk
    r"|Local/[A-Za-z0-9_+*#-]+@(?P<context>[A-Za-z0-9_-]+))$"  # an extension; its context is checked below
)
DIAL_FORMS = f"PJSIP/<endpoint>, PJSIP/<number>@{c.TRUNK_ENDPOINT} or Local/<ext>@<{' | '.join(c.UNIT_CONTEXTS)}>"


class DirectoryError(ValueError):
    """One or more problems; ``problems`` holds one line each, ``str()`` all of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML silently keeps the last of two equal keys; a directory must not."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_directory(path: str | Path) -> Directory:
    path = Path(path)
    source = str(path.absolute())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError([f"{source}: cannot be read ({exc.strerror or exc})"]) from exc
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DirectoryError([f"{source}: {_yaml_problem(exc)}"]) from exc
    return parse_directory(raw, source)


def parse_directory(raw: Any, source: str = "directory") -> Directory:
    """Validate already-parsed data (a dict as in the YAML file)."""
    if not isinstance(raw, dict):
        raise DirectoryError(
            [f"{source}: the top level must be a mapping with districts, agencies, units, fallback_group, lines"]
        )
    if isinstance(raw.get("lines"), dict):
        # `112:` unquoted is an int in YAML; the line number is meant either way.
        raw = {**raw, "lines": {str(key): value for key, value in raw["lines"].items()}}
    try:
        directory = Directory.model_validate(raw)
    except ValidationError as exc:
        raise DirectoryError([f"{source}: {_where(raw, e['loc'])}: {_reason(e)}" for e in exc.errors()]) from exc
    check_directory(directory, source)
    return directory


def check_directory(directory: Directory, source: str = "directory") -> None:
    """The cross-checks the schema alone cannot express; raises ``DirectoryError``."""
    problems = [f"{source}: {where}: {reason}" for where, reason in _cross_check(directory)]
    if problems:
        raise DirectoryError(problems)


def _cross_check(d: Directory):
    for key in DISTRICTS_112:
        if key not in d.districts:
            yield "districts", f"district '{key}' is missing (needed: {', '.join(DISTRICTS_112)})"
    seen: dict[str, int] = {}
    endpoints: dict[str, str] = {}
    for i, unit in enumerate(d.units):
        where = f"units[{i}] ({unit.id})"
        if unit.id in seen:
            yield where, f"id '{unit.id}' is already used by units[{seen[unit.id]}]"
        seen.setdefault(unit.id, i)
        if unit.agency not in d.agencies:
            yield where, f"agency '{unit.agency}' is not defined"
        for district in unit.districts:
            if district not in d.districts:
                yield where, f"district '{district}' is not defined"
        yield from _check_dial(where, unit.dial, endpoints)
    for i, dial in enumerate(d.fallback_group.dial):
        yield from _check_dial(f"fallback_group.dial[{i}]", dial, endpoints)
    agents: dict[str, int] = {}
    for i, agent in enumerate(d.agents):
        where = f"agents[{i}] ({agent.name})"
        if agent.name in agents:
            yield where, f"name '{agent.name}' is already used by agents[{agents[agent.name]}]"
        agents.setdefault(agent.name, i)
        if agent.name.endswith("-web") and any(a.name == agent.name[: -len("-web")] for a in d.agents):
            yield where, f"name '{agent.name}' is the browser phone of agent '{agent.name[: -len('-web')]}'"
        for phone in (agent.name, f"{agent.name}-web"):
            if phone in endpoints or phone.startswith("operator-"):
                yield where, f"its phone '{phone}' is already the endpoint of {endpoints.get(phone, 'an operator')}"
    if not d.fallback_group.dial:
        yield "fallback_group", "dial must list at least one line"
    if "112" not in d.lines:
        yield "lines", "line '112' is not defined"
    for number, line in d.lines.items():
        where = f"lines.{number}"
        if line.default_agency not in d.agencies:
            yield where, f"default_agency '{line.default_agency}' is not defined"
        required = REQUIRED_112 if number == "112" else ("operator",)
        for category in required:
            if category not in line.categories:
                yield where, f"category '{category}' is missing"
        for category, route in line.categories.items():
            if (route.routing or line.routing) == "agents" and not d.agents:
                yield (
                    f"{where}.categories.{category}",
                    "routing 'agents' needs call-takers: the directory lists no agents",
                )
            if route.agency is None:
                continue
            if route.agency not in d.agencies:
                yield f"{where}.categories.{category}", f"agency '{route.agency}' is not defined"
            elif not any(unit.agency == route.agency for unit in d.units):
                yield f"{where}.categories.{category}", f"agency '{route.agency}' has no units to ring"


def _check_dial(where: str, dial: str, endpoints: dict[str, str]):
    form = DIAL.match(dial)
    if not form:
        yield where, f"dial '{dial}' is not {DIAL_FORMS}"
        return
    context = form["context"]
    if context is not None and context not in c.UNIT_CONTEXTS:
        allowed = ", ".join(c.UNIT_CONTEXTS)
        why = "a line's context would loop the call back into the lines"
        yield where, f"dial '{dial}': context '{context}' is not a unit's (allowed: {allowed}); {why}"
        return
    if dial == f"PJSIP/{c.TRUNK_ENDPOINT}":
        yield where, f"dial '{dial}' is the telco trunk itself: dial a number over it, PJSIP/<number>@trunk"
        return
    if dial.startswith("PJSIP/") and "@" not in dial:
        # One generated endpoint per line: two entries on one endpoint would be one phone.
        if dial in endpoints:
            yield where, f"dial '{dial}' is also used by {endpoints[dial]}"
        endpoints.setdefault(dial, where)


def _where(raw: dict, loc: tuple) -> str:
    """``('units', 3, 'dial')`` -> ``units[3] (psc-kuta): dial``; ``('lines', '112', 'name')`` -> ``lines.112: name``."""
    if not loc:
        return "top level"
    top, rest = str(loc[0]), list(loc[1:])
    entry = top
    if top in _COLLECTIONS and rest:
        step = rest.pop(0)
        entry = f"{top}[{step}]" if isinstance(step, int) else f"{top}.{step}"
        item = _item(raw.get(top), step)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            entry += f" ({item['id']})"
    path = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in rest).lstrip(".")
    return f"{entry}: {path}" if path else entry


_COLLECTIONS = ("districts", "agencies", "units", "lines")


def _reason(error: ErrorDetails) -> str:
    """Pydantic's message, but a misspelt key names the keys that would have been right."""
    if error["type"] != "extra_forbidden":
        return error["msg"]
    known = _model_at(error["loc"][:-1])
    return f"unknown key (known: {', '.join(known.model_fields)})" if known else "unknown key"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema model an error location points into: ``('units', 3)`` -> ``Unit``."""
    kind: Any = Directory
    for step in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(step))
            if field is None:
                return None
            kind = field.annotation
        elif get_origin(kind) in (list, dict):
            kind = get_args(kind)[-1]  # the item's type: step is an index or a key
        else:
            return None
    while get_origin(kind) in (list, dict):
        kind = get_args(kind)[-1]
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _item(collection: Any, step: Any) -> Any:
    if isinstance(collection, list) and isinstance(step, int) and 0 <= step < len(collection):
        return collection[step]
    if isinstance(collection, dict):
        return collection.get(step)
    return None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"YAML error: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: YAML error: {problem}"
