"""A plugin module that ends the process when imported (fixture)."""

import sys

sys.exit(0)
