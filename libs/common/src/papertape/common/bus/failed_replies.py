"""The reply to a request whose handler failed, and the outcome it is counted under.

A request that fails to decode is ``malformed`` (answered with ``malformed_request`` and the
decoder's words); a transient failure (database or NATS away) is ``unavailable``, answered
without the error's text (an address, a DSN: for the operator's log, never for the client);
any other error is ``error``, answered with ``internal_error``.
"""

from __future__ import annotations

from papertape.common.bus.deadletters import MALFORMED, is_malformed, is_transient
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, ReplyErrorCode

UNAVAILABLE_MESSAGE = "the service cannot reach its database or the bus right now; retry"
UNAVAILABLE, ERROR = "unavailable", "error"
"""Outcomes besides ``MALFORMED`` (the dead letters' reason, the same word)."""


def failed_reply(error: Exception) -> tuple[str, bytes]:
    """The outcome of a request that raised ``error`` and its encoded reply."""
    if is_malformed(error):
        code, outcome, message = ReplyErrorCode.MALFORMED_REQUEST, MALFORMED, str(error)
    elif is_transient(error):
        code, outcome, message = ReplyErrorCode.UNAVAILABLE, UNAVAILABLE, UNAVAILABLE_MESSAGE
    else:
        code, outcome, message = (
            ReplyErrorCode.INTERNAL_ERROR,
            ERROR,
            f"{type(error).__name__}: {error}",
        )
    return outcome, encode(Reply(ok=False, error_code=code, error=message))
