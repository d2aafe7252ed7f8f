"""Tables people can read in any terminal, 80 columns included.

Principle: the columns someone searches by (a ticket, a caller number, a unit
id) are never cut or wrapped; on a narrow terminal a table shows fewer
columns, and the rest stays in ``--json``. Times are Badung time (WITA).
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Column, Table

WIDE = 120  # columns from which the full tables are shown


def console() -> Console:
    """The terminal's width (COLUMNS when set); 80 when not a terminal, as most tools assume."""
    return Console(highlight=False, soft_wrap=False)


def wide(out: Console) -> bool:
    return out.width >= WIDE


def table(*columns: Column | str, title: str | None = None) -> Table:
    """A light table: a rule under the header, no side borders (each border is a column lost).

    Other columns wrap, and fold a long word rather than cut it with an ellipsis.
    """
    made = [Column(c, overflow="fold") if isinstance(c, str) else c for c in columns]
    return Table(
        *made,
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 1),
        title_justify="left",
    )


def key(header: str) -> Column:
    """A column people search by: never cut, never wrapped."""
    return Column(header, no_wrap=True, overflow="ignore", min_width=len(header))
