"""The web dashboard: static pages the gateway serves, and the charting library they use."""
