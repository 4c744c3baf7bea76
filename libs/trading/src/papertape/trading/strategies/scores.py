"""Risk and opportunity scores (0-100) of a signal: two documented formulas.

* **risk score** = ``20 x s + 20 x v``, held to 0-100, where ``s`` is the stop's distance from
  the entry in % of the entry and ``v`` the per-bar volatility (standard deviation of log
  returns) in %. A 1% stop in a market moving 0.5% a bar scores 30; a 4% stop in a market moving
  1% a bar scores 100. Without a stop (HOLD, SKIP, closes) only the volatility term counts.
* **opportunity score** = ``confidence x min(R, 3) / 3``, held to 0-100, where ``R`` is the
  reward-to-risk to the first target: a signal as sure as it is with 3R or more on offer scores
  its confidence; without an entry (HOLD, SKIP, closes) the opportunity is 0.
"""

from __future__ import annotations

from papertape.trading.strategies.confidence import clamp_score

REWARD_RISK_CAP = 3.0


def risk_score(entry: float | None, stop: float | None, volatility: float | None) -> int:
    """The risk score of a signal (see the module's formula)."""
    stop_pct = abs(entry - stop) / entry * 100 if entry and stop is not None else 0.0
    volatility_pct = (volatility or 0.0) * 100
    return clamp_score(20 * stop_pct + 20 * volatility_pct)


def opportunity_score(confidence: int, reward_risk: float | None) -> int:
    """The opportunity score of a signal (see the module's formula)."""
    if reward_risk is None or reward_risk <= 0:
        return 0
    return clamp_score(confidence * min(reward_risk, REWARD_RISK_CAP) / REWARD_RISK_CAP)


def reward_to_risk(entry: float, stop: float, target: float) -> float | None:
    """The distance to the target over the distance to the stop (None without a stop distance)."""
    risk = abs(entry - stop)
    return abs(target - entry) / risk if risk > 0 else None
