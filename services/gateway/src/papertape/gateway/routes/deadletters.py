"""/api/v1/deadletters: what every service could not handle, with the reasons (operator only)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller
from litestar.params import Parameter
from nats.errors import Error as NatsError

from papertape.contract.events.apikeys import ApiScope
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bus import ServiceUnavailable
from papertape.gateway.deadletters import DeadLetterPage, newest_letters
from papertape.gateway.routes.common import DEPENDENCIES, acting
from papertape.gateway.state import Gateway

Service = Annotated[
    str | None,
    Parameter(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="only this service's letters"),
]
Limit = Annotated[int, Parameter(ge=1, le=200, description="letters, newest first")]
Before = Annotated[
    int | None,
    Parameter(ge=1, description="the cursor of a page: letters below this sequence"),
]


class DeadLettersController(Controller):
    """The DEADLETTER stream, newest first."""

    path = "/api/v1/deadletters"
    tags = ["operations"]
    dependencies = DEPENDENCIES

    @acting(
        "/",
        ApiScope.ADMIN,
        operator=True,
        method="get",
        summary="Dead letters of every service (or one), newest first, a page at a time",
    )
    async def letters(
        self,
        gateway: Gateway,
        key: ApiKey,
        service: Service = None,
        limit: Limit = 50,
        before: Before = None,
    ) -> DeadLetterPage:
        subjects = gateway.services.subjects
        stream = subjects.stream("DEADLETTER")
        subject = (
            subjects.all_dead_letters() if service is None else subjects.dead_letters_of(service)
        )
        try:
            async with asyncio.timeout(gateway.settings.request_timeout_s):
                return await newest_letters(
                    gateway.services.nc.jetstream(),
                    stream,
                    subject,
                    service=service,
                    limit=limit,
                    before=before,
                )
        except (TimeoutError, NatsError) as error:
            raise ServiceUnavailable("jetstream", type(error).__name__) from error
