"""``python -m papertape.signals``: run the signal service."""

from papertape.common import eventloop
from papertape.signals.bootstrap import main

if __name__ == "__main__":
    eventloop.run(main())
