"""papertape's notification service."""
