"""Retention of caller data (UU 27/2022): how long numbers and voices are kept, and removing the rest.

``places`` says where caller data lies on this host; ``plan`` lists what is past
the configured period (``settings.retention``), changing nothing; ``purge``
removes it, noting on each case that its recording was purged; ``rotate`` runs
Asterisk's ``logger rotate`` when the fallback journal's reader is not behind.
``siaga retention run`` and ``siaga logs rotate`` (``cli/``) drive them.
"""
