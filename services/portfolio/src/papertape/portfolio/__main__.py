"""``python -m papertape.portfolio``: run the portfolio service."""

from papertape.common import eventloop
from papertape.portfolio.bootstrap import main

if __name__ == "__main__":
    eventloop.run(main())
