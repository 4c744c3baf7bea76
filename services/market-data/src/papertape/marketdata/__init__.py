"""papertape market-data: sources into quotes and bars on JetStream, bar history, price queries."""
