"""Siaga domain, storage, web and CLI."""
