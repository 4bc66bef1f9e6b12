"""The pure-Python twin of ``_compiled.ndjson_records``: records as NDJSON with each
record's end offset (the reference; the tests compare the two on generated records).

Each line is ``orjson.dumps(record, default=default)`` and ``\\n``. Here each record is
encoded on its own, ``STEP`` at a time: an ``orjson.dumps`` result keeps a 4 KiB
allocation, so holding one per record of an envelope until a join would cost ~10x the
envelope's size at once (11 MB for one 256 KiB chunk of short lines). Each step's results
are joined into one bytes (and freed), the steps joined once at the end: every byte is
copied twice, not once per growth of a buffer (measured: ~2.8k instructions a record of
buffer growth and copies with a ``bytearray``). The result is always of its exact size (a
lone record's line is copied out of its ``dumps`` result).

The compiled twin encodes the whole list in one ``orjson.dumps`` call with a string of one
NUL between records (``[r1,"\\u0000",r2,...]``) and splits its output at the
``},"\\u0000",{`` marks (a quote inside a string is escaped, so no string holds a mark; a
record's own list such as ``[{},"\\x00",{}]`` can). When the marks do not match the
record count, or orjson refuses the list (a record nested one level short of orjson's
limit: the list adds one), it runs this twin, so bytes, end offsets and exceptions are
the same. When every record holds the very same ``k8s`` dict (of strings and dicts of
strings), the compiled twin encodes it once: the dict holds one marker key alone while
the list is encoded (its items put back right after) and each record's one marked dict,
its ``"k8s"`` value, gets the dict's JSON (a record with another one: encoded as it is).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import accumulate, repeat
from typing import Any

import orjson

#: records encoded per step (their ``orjson.dumps`` results are alive together)
STEP = 64
_OPTS = orjson.OPT_APPEND_NEWLINE


def ndjson_records(records: list[Any], default: Callable[[Any], Any]) -> tuple[bytes, array[int]]:
    """``records`` as NDJSON and each one's end offset; raises what ``orjson.dumps``
    raises."""
    dumps = orjson.dumps
    # ``dumps(record, default, _OPTS)`` by ``map``: positional, no bytecode per record
    defaults, options = repeat(default), repeat(_OPTS)  # endless: the records end each map
    steps: list[bytes] = []
    sizes: list[int] = []
    for start in range(0, len(records), STEP):
        part = list(map(dumps, records[start:start + STEP], defaults, options))
        sizes += map(len, part)
        steps.append(b"".join(part))
    data = b"".join(steps)
    if len(records) == 1:  # ``join`` gave the ``dumps`` result back, with its spare capacity
        data = bytes(memoryview(data))
    return data, array("I", accumulate(sizes))


def release_raw(records: list[Any]) -> None:
    """Each record's ``raw`` set to ``None``, in order (the processing is done with it:
    the sinks never read it, so no buffer holds it)."""
    for record in records:
        record.raw = None
