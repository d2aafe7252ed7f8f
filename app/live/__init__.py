"""Live call state and events in Redis, for the live web pages.

Redis only ever holds a copy: the case log in the database is the record, and
calls never wait for (or fail because of) Redis.
"""
