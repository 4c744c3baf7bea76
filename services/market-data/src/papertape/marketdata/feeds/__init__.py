"""Sources of market data behind one interface."""
