"""A subprocess (the test process keeps its own CPUs and policy) with one thread started
before a call and one after it: what the call returned, and what ``look`` says of the
calling thread (``t`` = 0), the earlier and the later thread."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

SCRIPT = """
import json, os, threading
{imports}
stop = threading.Event()
ids = []
def work():
    ids.append(threading.get_native_id())
    stop.wait(10)
early = threading.Thread(target=work); early.start()
while not ids: pass
result = {call}
late = threading.Thread(target=work); late.start()
while len(ids) < 2: pass
seen = [{look} for t in [0, *ids]]
stop.set(); early.join(); late.join()
print(json.dumps({{"result": result, "seen": seen}}))
"""


def before_and_after(imports: str, call: str, look: str) -> tuple[Any, list[Any]]:
    script = SCRIPT.format(imports=imports, call=call, look=look)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    got = json.loads(out.stdout)
    return got["result"], got["seen"]
