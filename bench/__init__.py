"""Siaga's load benchmark: SIPp callers against the call service and a plain-dialplan baseline.

Run ``.venv/bin/python -m bench --help``; docs/PERFORMANCE.md has the results.
"""
