"""Guideline data (installed as ``kb_guidelines``). YAML only: no logic lives here."""
