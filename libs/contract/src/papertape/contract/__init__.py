"""papertape's message contract: every message on the bus, and how it is encoded (msgspec only)."""
