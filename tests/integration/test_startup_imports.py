"""What ``shipper run`` imports at start-up (``-X importtime`` of the real CLI): nothing
heavy its configuration does not use. A stdout-only run with the HTTP server on loads
neither aiohttp (probes and metrics are served without it) nor any sink's client
library, nor the settings models of sinks it does not have, nor OpenSSL; the metrics
library loads its metric classes only (never its exposition, with the HTTP servers and
push-gateway client it brings, nor python-snappy, which stays importable)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
#: top-level packages a stdout-only configuration never needs (``snappy`` is left out:
#: importtime also lists the import prometheus_client attempts and is refused; ``cramjam``
#: is what loading python-snappy would bring)
UNUSED = ("aiohttp", "cramjam", "kubernetes", "zstandard", "msgpack", "google",
          "opentelemetry", "yarl", "multidict")
#: what prometheus_client's exposition brings (push gateway, stand-alone servers): never
#: loaded by ``shipper run``, scraped or not
EXPOSITION = ("prometheus_client.exposition", "http.server", "urllib.request", "wsgiref",
              "socketserver")
#: the settings models of the sink types a stdout-only configuration does not name
OTHER_SINK_MODELS = ("shipper.sinks.loki_settings", "shipper.sinks.vendor_settings")
#: what pydantic's plugin look-up brings when no plugin is installed
#: (:mod:`shipper.pydantic_plugins`; ~0.6 MiB resident)
PLUGIN_SCAN = ("importlib.metadata", "zipfile", "email")
#: read ``SHIPPER_*`` variables only: loaded when one names a key (:mod:`shipper.config_env`)
ENV_READER = ("pydantic_settings", "dotenv")


def imported_modules(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | total | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")},
            "PYTHONPATH": str(REPO), "POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n"}


def python_c(code: str) -> str:
    """What ``python -c code`` prints (stripped), in a fresh interpreter; it must exit 0."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_stdout_run_with_the_server_on_imports_no_unused_library(tmp_path):
    log = tmp_path / "app.log"
    log.write_text('{"level":"info","msg":"hello"}\n2026-01-02T10:00:00Z INFO plain k=v\n')
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shipper.cli", "run", "--once",
         "--path", str(log), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("\n") == 2
    modules = imported_modules(proc.stderr)
    assert "shipper.server.light" in modules and "prometheus_client.metrics" in modules
    assert sorted(m for m in modules if m.split(".")[0] in UNUSED) == []
    assert sorted(m for m in modules if m.startswith(EXPOSITION)) == []
    assert "_ssl" not in modules  # "ssl" is listed: asyncio's refused attempts
    assert "shipper.sinks.settings_common" in modules
    assert sorted(m for m in modules if m in OTHER_SINK_MODELS) == []
    assert sorted(m for m in modules if m.split(".")[0] in PLUGIN_SCAN
                  or m.startswith(PLUGIN_SCAN)) == []
    assert sorted(m for m in modules if m.split(".")[0] in ENV_READER) == []


def _port(stderr_path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """The server's port from its ``server listening`` self-log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for line in stderr_path.read_text(errors="replace").splitlines():
            if '"server listening"' in line:
                return int(json.loads(line)["port"])
        time.sleep(0.1)
    raise AssertionError("no 'server listening' line: " + stderr_path.read_text()[-2000:])


def test_the_first_scrape_answers_without_the_exposition_module_or_openssl(tmp_path):
    """Follow mode with the server on: ``/metrics`` answers in the Prometheus text format
    (:mod:`shipper.metrics_text`) without loading the library's exposition module, and
    the process maps no OpenSSL library, before or after (:mod:`shipper.deferred_openssl`)."""
    log, stderr_path = tmp_path / "app.log", tmp_path / "stderr"
    log.write_text("")
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "shipper.cli", "run", "--path",
             str(log), "--podinfo-dir", str(tmp_path), "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=env())
    try:
        port = _port(stderr_path, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as got:
            assert got.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as got:
            body, content_type = got.read().decode(), got.headers["Content-Type"]
        maps = Path(f"/proc/{proc.pid}/maps")
        libraries = maps.read_text() if maps.exists() else ""
        after = imported_modules(stderr_path.read_text(errors="replace"))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
    assert "shipper.metrics_text" in after
    assert sorted(m for m in after if m.startswith(EXPOSITION)) == []
    assert sorted(m for m in after if m.split(".")[0] in UNUSED) == []
    assert "_ssl" not in after  # "ssl" itself is listed: the refused attempts
    assert sorted(m for m in after if m.startswith(PLUGIN_SCAN)) == []
    assert sorted(m for m in after if m.split(".")[0] in ENV_READER) == []
    assert "libssl" not in libraries and "libcrypto" not in libraries
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert 'shipper_build_info{kernels="' in body
    assert "# TYPE shipper_lines_read_total counter" in body
    assert "process_resident_memory_bytes" in body  # the process collector still registered


def test_the_partly_loaded_metrics_library_completes_itself_on_first_use():
    """After ``install`` only the metric modules are loaded; a name of the package itself
    loads the rest once, reusing the modules (one ``Counter`` class, one default
    registry), as a normal import of the package would give."""
    code = (
        "import sys; from shipper import metrics_library as m; assert m.install(); "
        "assert not m.install(); "
        "assert 'prometheus_client.exposition' not in sys.modules; "
        "import prometheus_client.metrics as pm; "
        "from prometheus_client import REGISTRY, Counter, generate_latest; "
        "assert Counter is pm.Counter; "
        "assert REGISTRY is sys.modules['prometheus_client.registry'].REGISTRY; "
        "import prometheus_client; assert prometheus_client.exposition.snappy is None; "
        "Counter('x', 'a counter').inc(); print(b'x_total 1.0' in generate_latest())")
    assert python_c(code) == "True"


def test_snappy_stays_importable_after_the_metrics_library_loaded():
    code = ("import sys; from shipper.cli import load_metrics_library; load_metrics_library(); "
            "import prometheus_client; assert prometheus_client.exposition.snappy is None; "
            "import snappy; print(snappy.compress(b'x' * 100) != b'')")
    assert python_c(code) == "True"


def test_snappy_is_hidden_from_the_loading_thread_only():
    """While one thread loads the encoders (snappy hidden from it), another thread
    imports snappy as a Loki sink built by a reload would: it gets the real module. The
    hiding stops at the end of the block (a second import in the first thread works)."""
    code = (
        "import sys, threading; from shipper import metrics_library as m; m.install()\n"
        "inside, done, got = threading.Event(), threading.Event(), []\n"
        "def other():\n"
        "    inside.wait(30); import snappy; got.append(snappy.compress(b'x' * 50)); done.set()\n"
        "t = threading.Thread(target=other); t.start()\n"
        "with m.snappy_hidden():\n"
        "    try:\n"
        "        import snappy\n"
        "        raise SystemExit('snappy was not hidden from this thread')\n"
        "    except ImportError:\n"
        "        pass\n"
        "    inside.set(); assert done.wait(30), 'the other thread did not finish'\n"
        "t.join(); import snappy as again; print(bool(got[0]) and again is sys.modules['snappy'])")
    assert python_c(code) == "True"


def test_a_submodule_of_the_partly_loaded_package_is_an_attribute_as_usual():
    """``prometheus_client.exposition`` after ``import prometheus_client`` is the module,
    as after a normal import (loaded on that lookup, without snappy)."""
    code = ("import sys; from shipper import metrics_library as m; m.install(); "
            "import prometheus_client; e = prometheus_client.exposition; "
            "print(e is sys.modules['prometheus_client.exposition'], e.snappy is None, "
            "callable(e.generate_latest))")
    assert python_c(code) == "True True True"


def test_an_installed_pydantic_plugin_is_still_loaded(tmp_path):
    """A distribution on the path that declares a ``pydantic`` entry point: the shipper
    leaves the look-up to pydantic (``importlib.metadata`` loads), which loads the plugin
    as it would without the shipper, and the plugin sees the configuration's models."""
    dist = tmp_path / "fakeplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nfake = fakeplugin:plugin\n")
    marker = tmp_path / "seen"
    (tmp_path / "fakeplugin.py").write_text(
        "import os\n"
        "class Plugin:\n"
        "    def new_schema_validator(self, schema, schema_type, path, kind, config, settings):\n"
        "        with open(os.environ['PLUGIN_MARKER'], 'a') as f:\n"
        "            f.write(path.name + '\\n')\n"
        "        return None, None, None\n"
        "plugin = Plugin()\n")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shipper.cli", "validate", "--path",
         str(tmp_path / "app.log")], capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**env(), "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}",
             "PLUGIN_MARKER": str(marker)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "importlib.metadata" in imported_modules(proc.stderr)
    assert "Settings" in marker.read_text().split()
