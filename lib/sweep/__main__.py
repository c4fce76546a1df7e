"""`python -m lib.sweep`: the sweep command line (lib.sweep.cli)."""

import sys

from lib.sweep.cli import main

sys.exit(main())
