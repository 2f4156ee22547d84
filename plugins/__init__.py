"""First-party treatment plugins (installed as ``kb_plugins``), loaded through the ``mtus`` entry points."""
