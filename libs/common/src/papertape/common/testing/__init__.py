"""papertape's test kit: real NATS and PostgreSQL for every test that needs them."""
