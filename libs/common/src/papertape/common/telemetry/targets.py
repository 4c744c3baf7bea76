"""Scrape targets Prometheus discovers from files (``file_sd_configs``).

A service whose ``PAPERTAPE_METRICS_TARGETS_DIR`` is set writes ``<service>-<pid>.json`` there
once its /metrics listens (``papertape run`` sets it to ``<data dir>/prometheus``): Prometheus
reads every ``*.json`` of the folder and follows services, restarts and replicas on any port,
including ``0``. The file is removed when the service stops; a killed service leaves a target
that is simply down (``up == 0``) until it is back.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

ANY_ADDRESS = ("0.0.0.0", "::", "")


def target_host(listening_on: str) -> str:
    """The address others reach a listener at (its host name when it listens on every one)."""
    return socket.gethostname() if listening_on in ANY_ADDRESS else listening_on


def write_scrape_target(
    directory: Path, service: str, host: str, port: int, *, metrics_path: str = "/metrics"
) -> Path:
    """Write (atomically: Prometheus may read at any time) one service's target file."""
    directory.mkdir(parents=True, exist_ok=True)
    labels = {"service": service, "instance_pid": str(os.getpid())}
    if metrics_path != "/metrics":
        labels["__metrics_path__"] = metrics_path
    group = [{"targets": [f"{target_host(host)}:{port}"], "labels": labels}]
    path = directory / f"{service}-{os.getpid()}.json"
    draft = path.with_suffix(".json.tmp")
    draft.write_text(json.dumps(group))
    draft.replace(path)
    return path
