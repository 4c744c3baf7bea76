"""How the runtime's wrappers take their message from FastStream, without a thread hop."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from faststream._internal.context.context_type import Context as ContextField
from faststream.nats.message import NatsMessage

H = TypeVar("H", bound=Callable[..., Any])


class _MessageOnTheLoop(ContextField):
    """FastStream's ``Context("message")``, resolved on the event loop.

    fast_depends runs a custom field's synchronous ``use`` in a worker thread, so a handler
    taking ``NatsMessage`` (``Context("message")``) sent every message through a thread hop:
    two context switches and a lock per message, the largest cost in a busy service. An
    ``async use`` is awaited where it is.
    """

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return super().use(**kwargs)


Message = Annotated[NatsMessage, _MessageOnTheLoop("message")]
"""The message a handler takes, without a thread hop; the runtime's wrappers declare it."""
TAKES_MESSAGE = inspect.Signature(
    [inspect.Parameter("msg", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Message)]
)


def takes_message(run: H) -> H:
    """Tell FastStream ``run`` takes the message (not the wrapped handler's annotation)."""
    run.__signature__ = TAKES_MESSAGE  # type: ignore[attr-defined]
    return run
