"""papertape's gateway: HTTP and WebSocket API over the bus."""
