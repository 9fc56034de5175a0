"""``python -m vsae.bench.performance``."""

from vsae.bench.performance.cli import main

raise SystemExit(main())
