"""The service as `bench/checkout.py --ab` serves it: wsgi's app, with one hand-written
mechanism put back to the library's own way (bench/library_ways.py) when BENCH_LIBRARY_WAY
names it.

`gunicorn bench.ab_app:app` from the repository's root (not `--chdir bench`: bench/rules.py
would shadow the rules package). The bench sets BENCH_LIBRARY_WAY in the environment of the
gunicorn it starts, and this module is the one place that reads it: the production code
carries no switch for the bench. Both sides of an A/B are served through this module, so they
differ only in the mechanism.
"""

from __future__ import annotations

import os
import sys

from bench.library_ways import LIBRARY_WAYS
from wsgi import app

ENVIRONMENT = "BENCH_LIBRARY_WAY"

if os.environ.get(ENVIRONMENT):
    name = os.environ[ENVIRONMENT]
    if name not in LIBRARY_WAYS:
        sys.exit(f"{ENVIRONMENT}={name!r}: not one of {', '.join(LIBRARY_WAYS)}")
    LIBRARY_WAYS[name](app)
