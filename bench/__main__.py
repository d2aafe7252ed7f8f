"""``python -m bench``: the load benchmark (see ``--help`` and docs/PERFORMANCE.md)."""

from bench.cli import app

app(prog_name="python -m bench")
