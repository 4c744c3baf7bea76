"""``python -m papertape.signals``: run the signal service."""

import asyncio

from papertape.signals.bootstrap import main

if __name__ == "__main__":
    asyncio.run(main())
