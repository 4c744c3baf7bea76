"""Who may do what: API keys (issued, revoked, checked), scopes, and rate limits per key."""
