"""Trading modes: presets of risk per trade, minimum confidence, open positions, stop and targets.

==============  ===========  ===========  ==============  ====================  ==========
mode            risk/trade   min conf.    max positions   stop                  targets (R)
==============  ===========  ===========  ==============  ====================  ==========
CONSERVATIVE    0.5%         70           2               2.0 x ATR             2
BALANCED        1%           60           4               2.0 x ATR             1.5, 3
AGGRESSIVE      2%           45           8               1.5 x ATR             1.5, 3
SCALPER         0.5%         55           10              0.3% of the entry     1
SWING           1%           65           5               3.0 x ATR             2, 4
==============  ===========  ===========  ==============  ====================  ==========

Every mode sizes by confidence-scaled risk (``Sizing.CONFIDENCE``); any value may be overridden.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.events.sessions import (
    RiskOverrides,
    RiskSettings,
    StopKind,
    TradingMode,
)

D = Decimal

PRESETS: dict[TradingMode, RiskSettings] = {
    TradingMode.CONSERVATIVE: RiskSettings(
        risk_per_trade_pct=D("0.5"),
        min_confidence=70,
        max_open_positions=2,
        stop_value=D(2),
        target_r=(D(2),),
    ),
    TradingMode.BALANCED: RiskSettings(
        risk_per_trade_pct=D(1),
        min_confidence=60,
        max_open_positions=4,
        stop_value=D(2),
        target_r=(D("1.5"), D(3)),
    ),
    TradingMode.AGGRESSIVE: RiskSettings(
        risk_per_trade_pct=D(2),
        min_confidence=45,
        max_open_positions=8,
        stop_value=D("1.5"),
        target_r=(D("1.5"), D(3)),
    ),
    TradingMode.SCALPER: RiskSettings(
        risk_per_trade_pct=D("0.5"),
        min_confidence=55,
        max_open_positions=10,
        stop_kind=StopKind.PERCENT,
        stop_value=D("0.3"),
        target_r=(D(1),),
    ),
    TradingMode.SWING: RiskSettings(
        risk_per_trade_pct=D(1),
        min_confidence=65,
        max_open_positions=5,
        stop_value=D(3),
        target_r=(D(2), D(4)),
    ),
}


def risk_settings(mode: TradingMode, overrides: RiskOverrides | None = None) -> RiskSettings:
    """A mode's preset with the given values replaced."""
    preset = PRESETS[mode]
    if overrides is None:
        return preset
    changes = {k: v for k, v in msgspec.structs.asdict(overrides).items() if v is not None}
    return msgspec.structs.replace(preset, **changes)
