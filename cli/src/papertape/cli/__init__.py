"""papertape package."""
