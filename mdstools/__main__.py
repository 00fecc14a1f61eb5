"""``python -m mdstools``: the same as the ``mdstools`` command."""

from mdstools.cli import main

raise SystemExit(main())
