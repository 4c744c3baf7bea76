"""The simulated venue: working orders matched against quotes and bars, with cost models."""

from papertape.trading.venue.config import VenueConfig
from papertape.trading.venue.engine import Venue
from papertape.trading.venue.orders import WorkingOrder

__all__ = ["Venue", "VenueConfig", "WorkingOrder"]
