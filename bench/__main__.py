"""``python -m bench``: the whole benchmark (settings from ``BENCH_*`` env, see
:func:`bench.settings.from_env`); prints the table and writes ``bench/results/<ts>.json``."""

from __future__ import annotations

import sys

from bench.run import main

if __name__ == "__main__":
    sys.exit(main())
