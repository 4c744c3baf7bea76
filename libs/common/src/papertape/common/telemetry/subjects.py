"""Subject patterns for metric labels: a family of subjects, never one account or symbol.

A raw subject carries an account id, a symbol or a session id, so a label of raw subjects
grows with the data. ``subject_pattern`` keeps the tokens that name a kind of message (the
event, the report, the timeframe, the strategy) and turns the ones that name an instance
into ``*``; an unknown family keeps its first token only (``family.>``), so any subject a
new service uses is still bounded.
"""

from __future__ import annotations

import functools

# family -> which tokens after the family name are instances (True) or kinds (False);
# ``None`` keeps no token past the ones listed (a tail like the dead letter's original).
_SHAPES: dict[str, tuple[bool, ...]] = {
    "md": (False, False, True),  # md.quote.<SYM>, md.bar.<TF>.<SYM>: keep kind and timeframe
    "signal": (False, True),  # signal.<strategy>.<SYM>
    "session": (True, False),  # session.<id>.<event>
    "acct": (True, False),  # acct.<account>.<event>
    "exec": (True, False),  # exec.<account>.<report>
    "notify": (True,),  # notify.<account>
    "portfolio": (False, False),  # portfolio.command, portfolio.query.<query>
    "marketdata": (False, False),
    "execution": (False, False),
    "signals": (False, False),
    "notification": (False, False),
    "gateway": (False, False),  # gateway.apikey.<event>
    "anchor": (False,),
    "replay": (True,),
    "_INBOX": (True, True),
}
_TAIL = {"dlq": 1}  # dlq.<service>.<original subject…>: the service, then the rest as ``>``


@functools.lru_cache(maxsize=4096)
def subject_pattern(subject: str, namespace: str = "") -> str:
    """The bounded pattern of ``subject`` (``acct.*.order_placed`` for ``acct.a1.order_placed``).

    The namespace prefix, when present, is dropped: dashboards compare namespaces by service.
    """
    tokens = subject.split(".")
    if namespace and tokens[0] == namespace:
        tokens = tokens[1:]
    if not tokens or not tokens[0]:
        return subject
    family, rest = tokens[0], tokens[1:]
    if family in _TAIL:
        kept = rest[: _TAIL[family]]
        return ".".join([family, *kept, ">"] if len(rest) > len(kept) else [family, *kept])
    shape = _SHAPES.get(family)
    if shape is None:
        return f"{family}.>" if rest else family
    if family == "md" and rest[:1] == ["quote"]:
        shape = (False, True)  # md.quote.<SYM>
    pattern = [family]
    for index, value in enumerate(rest):
        if index >= len(shape):
            pattern.append(">")
            break
        pattern.append("*" if shape[index] else value)
    return ".".join(pattern)
