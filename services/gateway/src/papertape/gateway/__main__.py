"""``python -m papertape.gateway``: run the gateway."""

from papertape.common import eventloop
from papertape.gateway.bootstrap import main

if __name__ == "__main__":
    eventloop.run(main())
