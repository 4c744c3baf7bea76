"""``python -m papertape.portfolio``: run the portfolio service."""

import asyncio

from papertape.portfolio.bootstrap import main

if __name__ == "__main__":
    asyncio.run(main())
