"""`python -m vmsg_conform` runs the vmsg-conform command line."""

import sys

from .cli import main

sys.exit(main())
