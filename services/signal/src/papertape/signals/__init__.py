"""papertape's signal service: strategies on the bars, bot sessions that trade their signals."""
