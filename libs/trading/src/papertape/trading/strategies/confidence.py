"""Confidence in words: the one place the thresholds of the levels are stated.

=============  ==================
level          confidence (0-100)
=============  ==================
VERY_LOW       0-19
LOW            20-39
MEDIUM         40-59
HIGH           60-79
VERY_HIGH      80-100
=============  ==================
"""

from __future__ import annotations

from papertape.contract.events.signals import ConfidenceLevel

THRESHOLDS: tuple[tuple[int, ConfidenceLevel], ...] = (
    (80, ConfidenceLevel.VERY_HIGH),
    (60, ConfidenceLevel.HIGH),
    (40, ConfidenceLevel.MEDIUM),
    (20, ConfidenceLevel.LOW),
    (0, ConfidenceLevel.VERY_LOW),
)
"""The lowest confidence of each level, highest level first."""


def clamp_score(value: float) -> int:
    """A score: rounded half to even, then held to 0-100."""
    return min(100, max(0, round(value)))


def level_of(confidence: int) -> ConfidenceLevel:
    """The level a confidence score falls in."""
    for lowest, level in THRESHOLDS:
        if confidence >= lowest:
            return level
    return ConfidenceLevel.VERY_LOW
