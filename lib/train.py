"""`python -m lib.train`: train one run from the command line (lib.run.cli; the run itself is lib.run.loop)."""

import sys

from lib.run.cli import main

if __name__ == "__main__":
    sys.exit(main())
