"""The WebSocket /ws: authenticated sessions, channels per account and symbol, bounded buffers."""
