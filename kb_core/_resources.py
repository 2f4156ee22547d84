"""The data files shipped inside a package, found without importing ``importlib.resources``.

``importlib.resources.files`` costs a cold start ~8 ms the first time: it imports
``tempfile``, ``shutil``, ``zipfile`` and more, and hands back a plain ``pathlib.Path`` for a
package installed as files. :func:`files` gives that same path directly, and asks
``importlib.resources`` only for a package it cannot read from disk (e.g. inside a zip).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path
from typing import Any


def files(package: str) -> Path | Any:
    """The directory of ``package`` (a ``pathlib.Path``), as ``importlib.resources.files``."""
    module = sys.modules.get(package) or import_module(package)
    location = getattr(module, "__file__", None)
    if location and os.path.basename(location) == "__init__.py" and os.path.isfile(location):
        return Path(location).parent
    from importlib.resources import files as resource_files  # a zip, a namespace package, ...

    return resource_files(package)
