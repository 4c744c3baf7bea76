"""Strategies, indicators and bot sessions: pure, so the signal service and a backtest agree.

``indicators`` (O(1) per bar), ``api`` (the strategy API and the shared position rules), the
built-ins (``crossover``, ``reversion``, ``breakout``, ``bollinger``, by name in ``registry``),
``confidence`` (levels), ``scores`` (risk and opportunity), ``signals`` (an evaluation as a
signal), ``sizing``, ``modes`` (trading-mode presets), ``calibration``, ``sessions`` (the bot
session aggregate) and ``bots`` (a session with its strategies, live or rebuilt).
"""
