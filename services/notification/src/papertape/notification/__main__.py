"""``python -m papertape.notification``: run the notification service."""

from papertape.common import eventloop
from papertape.notification.bootstrap import main

if __name__ == "__main__":
    eventloop.run(main())
