"""Start-up checks of loaded menus: targets, option keys, prompts, reachability, choices.

Every problem is collected and reported at once, each line naming the file,
the menu and the key, so a broken menu file is fixed in one round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ivr.engine.model import CATEGORIES, DISTRICTS, LANGUAGES, OPTION_KEYS, Choice, LineMenus, MenuSet, Problems


def validate(
    menu_set: MenuSet,
    prompt_exists: Callable[[str, str], bool],
    languages: Iterable[str] = LANGUAGES,
    categories: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Raise ``MenuError`` listing every problem; return None when the menus are sound.

    ``categories`` maps a line to its routing categories (e.g. the directory's
    ``lines.<line>.categories`` keys); the built-in lists are used when None.
    """
    languages = tuple(languages)
    categories = CATEGORIES if categories is None else categories
    problems = Problems()
    for line_menus in menu_set.lines.values():
        line_categories = categories.get(line_menus.line)
        if line_categories is None:
            problems.add(line_menus.source, "line", f"{line_menus.line!r} has no known categories")
            line_categories = ()
        _check_line(line_menus, prompt_exists, languages, set(line_categories), problems)
    problems.raise_if_any()


def _check_line(lm: LineMenus, prompt_exists, languages, categories: set[str], problems: Problems) -> None:
    src = lm.source
    for lang in lm.languages:
        if lang not in LANGUAGES:
            problems.add(src, "languages", f"{lang!r} is not one of {', '.join(LANGUAGES)}")
    if lm.default_language not in lm.languages:
        problems.add(src, "default_language", f"{lm.default_language!r} is not in languages")
    if lm.start not in lm.menus:
        problems.add(src, "start", f"{lm.start!r} is not a menu")
    allowed = {
        "language": set(lm.languages) & set(LANGUAGES),
        "category": categories,
        "district": set(DISTRICTS),
    }
    for mid, menu in lm.menus.items():
        key = f"menus.{mid}"
        for prompt_key, prompt in (("prompt", menu.prompt), ("invalid", menu.invalid_prompt)):
            for lang in languages:
                if not prompt_exists(prompt, lang):
                    problems.add(src, f"{key}.{prompt_key}", f"prompt {prompt!r} is missing in {lang!r}")
        for digit, choice in menu.options.items():
            if digit not in OPTION_KEYS:
                problems.add(src, f"{key}.options.{digit}", "an option key is one of 0-9 * #")
            _check_choice(lm, choice, f"{key}.options.{digit}", allowed, problems)
        _check_choice(lm, menu.on_timeout, f"{key}.on_timeout", allowed, problems)
        if menu.others is not None:
            _check_choice(lm, menu.others, f"{key}.others", allowed, problems)
            if menu.others.next in lm.menus and lm.menus[menu.others.next].others is not None:
                problems.add(src, f"{key}.others.next", "the target menu must not pass digits on again")
    for mid in sorted(set(lm.menus) - _reachable(lm)):
        problems.add(src, f"menus.{mid}", f"unreachable from start menu {lm.start!r}")


def _check_choice(lm: LineMenus, choice: Choice, key: str, allowed: dict[str, set[str]], problems: Problems) -> None:
    if choice.next is not None and choice.next not in lm.menus:
        problems.add(lm.source, f"{key}.next", f"{choice.next!r} is not a menu")
    for field, value in choice.sets:
        if field not in allowed:
            problems.add(lm.source, f"{key}.set.{field}", f"unknown field (known: {', '.join(allowed)})")
        elif value not in allowed[field]:
            known = ", ".join(sorted(allowed[field])) or "none"
            problems.add(lm.source, f"{key}.set.{field}", f"{value!r} is not a known {field} (known: {known})")


def _reachable(lm: LineMenus) -> set[str]:
    seen: set[str] = set()
    todo = [lm.start]
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in lm.menus:
            continue
        seen.add(mid)
        menu = lm.menus[mid]
        todo.extend(c.next for c in (*menu.options.values(), menu.on_timeout, menu.others) if c and c.next)
    return seen
