"""``python -m papertape.gateway``: run the gateway."""

import asyncio

from papertape.gateway.bootstrap import main

if __name__ == "__main__":
    asyncio.run(main())
