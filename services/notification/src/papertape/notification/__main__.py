"""``python -m papertape.notification``: run the notification service."""

import asyncio

from papertape.notification.bootstrap import main

if __name__ == "__main__":
    asyncio.run(main())
