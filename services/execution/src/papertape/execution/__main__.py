"""``python -m papertape.execution``: run the execution service."""

from papertape.common import eventloop
from papertape.execution.bootstrap import ExecutionService
from papertape.execution.settings import read_settings


def main() -> None:
    eventloop.run(ExecutionService(read_settings()).serve())


if __name__ == "__main__":
    main()
