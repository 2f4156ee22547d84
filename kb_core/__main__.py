"""``python -m kb_core`` is the ``mtus`` command."""

from kb_core.cli import main

main()
