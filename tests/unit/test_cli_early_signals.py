"""``shipper run`` handles SIGTERM/SIGINT/SIGHUP before it imports anything heavy (a pod
stopped while the sidecar starts exits 0 after a drain, not 143), and any other command
gets the signals that arrived while its arguments were parsed as it would have."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from shipper.cli import EarlySignals

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("argparse", "logging", "asyncio", "pydantic", "shipper.kernels", "shipper.config")

SPY = textwrap.dedent("""
    import json, signal, sys
    HEAVY = %r
    seen = {}

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name in HEAVY and name not in seen:
                seen[name] = signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            return None

    sys.meta_path.insert(0, Spy())
    from shipper.cli import main
    code = main(["run", "--once", "--path", sys.argv[1], "--podinfo-dir", sys.argv[2],
                 "--listen", "off"])
    print(json.dumps({"code": code, "handled": seen}), file=sys.stderr)
""")


def test_run_handles_sigterm_before_it_imports_anything_heavy(tmp_path):
    """Each heavy module, when it is first looked up, finds the SIGTERM handler in: a
    signal from then on is remembered, however slowly the imports run."""
    empty = tmp_path / "empty.log"
    empty.write_text("")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "POD_NAME": "p",
           "POD_NAMESPACE": "ns", "NODE_NAME": "n"}
    done = subprocess.run([sys.executable, "-c", SPY % (HEAVY,), str(empty), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen["code"] == 0
    assert {"shipper.kernels", "pydantic", "asyncio", "shipper.config"} <= set(seen["handled"])
    assert all(seen["handled"].values()), seen["handled"]


def test_release_hands_what_arrived_meanwhile_to_the_previous_handlers():
    """A command other than ``run`` restores the handlers it found and delivers the
    signals that came while its arguments were parsed (SIGHUP here: pytest's own)."""
    got: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: got.append(signum))
    try:
        early = EarlySignals()
        signal.raise_signal(signal.SIGHUP)
        assert early.reload and got == []
        early.release()
        assert got == [signal.SIGHUP]
        signal.raise_signal(signal.SIGHUP)
        assert got == [signal.SIGHUP, signal.SIGHUP]  # the previous handler is back
    finally:
        signal.signal(signal.SIGHUP, previous)
