"""The cost and venue models a comparison runs under: the recorded ones, or others given."""

from __future__ import annotations

import argparse
from decimal import Decimal

import msgspec

from papertape.contract.costs import CostSchedule
from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    SlippageKind,
    SlippageModel,
)
from papertape.contract.instruments import AssetClass
from papertape.trading.backtest import NO_COSTS
from papertape.trading.backtest.comparison import Thresholds
from papertape.trading.costs import DEFAULT_TERMS
from papertape.trading.venue.config import VenueConfig

TERMS = {
    "per_share": "commission per share",
    "minimum": "least commission of an order",
    "bps": "commission in bps of notional",
    "fixed": "fixed commission per order",
    "taker_bps": "taker fee in bps",
    "slippage_bps": "slippage of a taker fill in bps",
}


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Fee, slippage and latency options, and the thresholds of the summary's warnings."""
    group = parser.add_argument_group("other models (every asset class's terms)")
    for name, what in TERMS.items():
        group.add_argument(f"--{name.replace('_', '-')}", type=Decimal, dest=name, help=what)
    group.add_argument("--slippage-kind", type=SlippageKind, choices=list(SlippageKind))
    group.add_argument("--latency-ms", type=int, help="an order reaches the venue this late")
    limits = parser.add_argument_group("warning thresholds (absolute differences)")
    for name, default in msgspec.structs.asdict(Thresholds()).items():
        limits.add_argument(
            f"--max-{name.replace('_', '-')}-delta", type=Decimal, default=default, dest=name
        )


def thresholds_of(args: argparse.Namespace) -> Thresholds:
    return Thresholds(**{name: getattr(args, name) for name in Thresholds.__struct_fields__})


def schedule_of(args: argparse.Namespace, base: CostSchedule | None) -> CostSchedule | None:
    """``base`` with the terms given changed (None: base unchanged); ``--costs none``: none."""
    if getattr(args, "costs", None) == "none":
        return NO_COSTS
    changes = {name: getattr(args, name) for name in TERMS if getattr(args, name) is not None}
    if not changes:
        return base
    schedule = base or CostSchedule()
    classes = {
        cls: msgspec.structs.replace(schedule.asset_classes.get(cls, DEFAULT_TERMS[cls]), **changes)
        for cls in AssetClass
    }
    instruments = {
        k: msgspec.structs.replace(t, **changes) for k, t in schedule.instruments.items()
    }
    return CostSchedule(asset_classes=classes, instruments=instruments)


def venue_of(args: argparse.Namespace) -> VenueConfig:
    """The venue's default models with the slippage kind and latency given."""
    models = ExecutionModels()
    if args.slippage_kind is not None:
        models = msgspec.structs.replace(models, slippage=SlippageModel(kind=args.slippage_kind))
    if args.latency_ms is not None:
        models = msgspec.structs.replace(models, fills=FillPolicy(latency_ms=args.latency_ms))
    return VenueConfig(default=models)
