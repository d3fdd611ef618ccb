"""``python -m minbert``: the ``minbert`` command, for launchers such as ``torchrun -m minbert``."""

import sys

from minbert.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
