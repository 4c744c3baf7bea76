"""The REST API under /api/v1, and the operations routes."""
