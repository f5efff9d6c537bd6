"""``python -m python_helpers.tools.reference``: the same as ``task-watts reference``."""

import sys

from python_helpers.tools.reference import main

sys.exit(main())
