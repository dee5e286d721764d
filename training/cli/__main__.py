"""``python -m areanet.training.cli ...``: the same as the ``areanet`` command."""
import sys

from . import main

sys.exit(main())
