"""papertape's execution service: the simulated venue on the bus."""
