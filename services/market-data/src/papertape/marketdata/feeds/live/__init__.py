"""Live vendor adapters: each translates its vendor's shape at the edge."""
