"""The benchmark harness: corpus, peers (rsyslog, syslog-ng), scenarios, table and JSON history.

Run it with ``make bench`` (or ``python -m bench``); ``make profile`` profiles the hot path.
Nothing here is imported by the shipper itself.
"""
