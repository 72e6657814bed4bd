"""Kept so callers and operators' scripts keep working: the clean-up of old import uploads lives in
core/imports/uploads.py."""

from core.imports.uploads import FINISHED, KEEP_FINISHED, KEEP_UNAPPLIED, UNAPPLIED, import_files_clean_up

__all__ = ["FINISHED", "KEEP_FINISHED", "KEEP_UNAPPLIED", "UNAPPLIED", "import_files_clean_up"]
