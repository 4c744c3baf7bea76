"""Bus subscribers: request-reply answers to market queries."""

from faststream.nats import NatsMessage

from papertape.common.runtime import ServiceRuntime
from papertape.contract import codec
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import MarketQuery
from papertape.marketdata.queries import MarketQueries

QUEUE_GROUP = "marketdata"

requests: codec.Codec[Request[MarketQuery]] = codec.Codec(Request[MarketQuery])


def register(runtime: ServiceRuntime, queries: MarketQueries) -> None:
    """Subscribe the query responder on ``marketdata.query.*`` (a queue group)."""

    @runtime.broker.subscriber(runtime.subjects.marketdata_queries(), queue=QUEUE_GROUP)
    @runtime.replying("market_query")
    async def answer_query(msg: NatsMessage) -> bytes:
        request = requests.decode(msg.body)
        return codec.encode(await queries.answer(request.body))
