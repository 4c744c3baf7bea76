"""Versioned SQL migrations of the event log (``NNNN_name.sql``), applied in order."""

from papertape.common.eventlog.migrations.migrations import apply_migrations, available_migrations

__all__ = ["apply_migrations", "available_migrations"]
