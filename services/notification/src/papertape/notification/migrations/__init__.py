"""The notification store's versioned SQL migrations."""
