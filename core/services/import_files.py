"""Kept so callers and operators' scripts keep working: the clean-up of old import uploads lives in
core/imports/uploads.py."""

from core.imports.uploads import KEEP_FINISHED, KEEP_UNAPPLIED, import_files_clean_up

__all__ = ["KEEP_FINISHED", "KEEP_UNAPPLIED", "import_files_clean_up"]
