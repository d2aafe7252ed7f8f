"""The shape of IVR menus once loaded from ``ivr/menus/*.yaml``.

Plain frozen dataclasses: the engine reads them, never changes them. Loading
is in ``menus.py``, semantic checks in ``checks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.directory.schema import DISTRICTS_112

LANGUAGES = ("id", "en")
DISTRICTS = DISTRICTS_112  # Badung's six kecamatan plus "unknown"; the same for both lines
# Routing categories per line. The directory (``lines.<line>.categories``) routes these;
# ``validate(categories=...)`` accepts the directory's own keys instead.
CATEGORIES = {
    "112": ("medical", "fire", "police", "sar", "operator"),
    "14084": ("infrastructure", "environment", "transport", "population", "social", "operator"),
}
OPERATOR = "operator"  # the routing category of the operator path
UNKNOWN_DISTRICT = "unknown"
OPTION_KEYS = frozenset("0123456789*#")


class MenuError(ValueError):
    """A menu file is wrong; the message names the file, the menu and the key."""


@dataclass(frozen=True)
class Choice:
    """What pressing an option (or letting a menu time out) does.

    Exactly one of: ``next`` (go to that menu), ``forward`` (put the caller
    through with what they chose), ``operator`` (the operator path: put the
    caller through to a human, routing category "operator").
    """

    sets: tuple[tuple[str, str], ...] = ()
    next: str | None = None
    forward: bool = False
    operator: bool = False


@dataclass(frozen=True)
class Menu:
    id: str
    prompt: str
    invalid_prompt: str
    timeout: float  # seconds of silence after the prompt; the settings default when the file has none
    options: dict[str, Choice]
    on_timeout: Choice
    # A digit that is not an option here: apply ``others`` and let the digit act in the
    # ``others.next`` menu. The language menu uses it so that a caller who presses 1
    # (medical) straight away gets Indonesian and medical, without being asked twice.
    others: Choice | None = None


@dataclass(frozen=True)
class LineMenus:
    """All menus of one line (one file)."""

    source: str  # file name, for error messages
    line: str
    start: str
    languages: tuple[str, ...]
    default_language: str
    menus: dict[str, Menu]


@dataclass(frozen=True)
class MenuSet:
    lines: dict[str, LineMenus]
    max_invalid: int = 3  # invalid inputs per call before the operator path
    default_timeout: float = 5.0

    def line(self, line: str) -> LineMenus:
        try:
            return self.lines[line]
        except KeyError:
            raise MenuError(f"no menu file for line {line!r} (have {sorted(self.lines)})") from None


@dataclass(frozen=True)
class Problems:
    """Collects validation problems so one run reports all of them."""

    items: list[str] = field(default_factory=list)

    def add(self, source: str, key: str, message: str) -> None:
        self.items.append(f"{source}: {key}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise MenuError("\n".join(self.items))
