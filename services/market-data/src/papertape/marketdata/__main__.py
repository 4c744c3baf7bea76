"""``python -m papertape.marketdata``: run the market-data service."""

from papertape.common import eventloop
from papertape.marketdata.bootstrap import MarketDataService
from papertape.marketdata.settings import read_settings


def main() -> None:
    eventloop.run(MarketDataService(read_settings()).serve())


if __name__ == "__main__":
    main()
