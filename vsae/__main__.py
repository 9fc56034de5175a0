"""``python -m vsae``: the ``vsae`` command."""

from vsae.cli import main

raise SystemExit(main())
