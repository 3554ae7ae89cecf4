"""`make bench`: every benchmark of the project, printed as figures and ratios."""

from __future__ import annotations

import importlib

MODULES = [
    "bench.pipeline_runs",
    "bench.matching",
    "bench.google_calls",
    "bench.smtp_delivery",
    "bench.sessions",
]

for name in MODULES:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        continue
    module.main()
