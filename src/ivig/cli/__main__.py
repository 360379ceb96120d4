"""``python -m ivig.cli``."""

import sys

from ivig.cli import main

sys.exit(main())
