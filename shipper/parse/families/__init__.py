"""Layouts that frameworks print by default, recognised per line without configuration.

One module per family of frameworks (Python web servers and workers, JVM, Go, Rust, Ruby,
servers, syslog, consoles). Each recogniser takes one decoded line (ANSI escapes already
stripped) and returns ``(format, partial record)`` in the shape of
:class:`shipper.parse.text.TextParser` (``timestamp``, ``level``, ``message``,
``attributes``, optional ``logger``), or ``None`` when the line is not of its layout, so a
layout never steals a line of another family. ``TextParser`` picks the recogniser from cheap
first-character checks before any regex runs.
"""
