"""``python -m python_helpers <command>``: the same as the ``task-watts`` command."""

from python_helpers.cli import main

raise SystemExit(main())
