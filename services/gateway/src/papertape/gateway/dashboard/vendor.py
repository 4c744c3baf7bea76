"""TradingView's lightweight-charts for the dashboard: pinned, fetched at setup, verified.

The library is never committed. ``make setup`` runs ``python -m papertape.gateway.dashboard.vendor``
once: with ``npm`` on the PATH it packs the pinned version from the npm registry, otherwise it
downloads the pinned tarball from the registry with the standard library; either way the
tarball's SHA-512 must equal the pinned integrity before its standalone build is written to
``static/vendor/``. A stamp holding the integrity makes a second run a no-op.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

PACKAGE = "lightweight-charts"
VERSION = "5.2.1"
INTEGRITY = (
    "sha512-"
    "IVwoK1RLFiLPubaKIjNbtjWLnpPMqiABSrTay6whmNa8L1+19292VtHJ+BWyPUuLCwF0tcQlhEWd1CLB2a1nsQ=="
)
"""``dist.integrity`` of the pinned version, as the npm registry publishes it."""
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
BUILD = "lightweight-charts.standalone.production.js"
"""The build the page loads: one classic script that defines ``window.LightweightCharts``."""
MEMBER = f"package/dist/{BUILD}"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
STAMP = "lightweight-charts.integrity"
_TIMEOUT_S = 60.0

Fetch = Callable[[], bytes]


class IntegrityError(Exception):
    """The tarball is not the pinned one."""


def integrity_of(data: bytes) -> str:
    """The npm ``integrity`` string (SRI, SHA-512) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def verify(data: bytes) -> None:
    """Refuse ``data`` unless its SHA-512 is the pinned integrity."""
    found = integrity_of(data)
    if found != INTEGRITY:
        raise IntegrityError(f"{PACKAGE} {VERSION}: expected {INTEGRITY}, got {found}")


def installed(directory: Path = VENDOR_DIR) -> bool:
    """Whether the pinned build is in ``directory`` (written from a verified tarball)."""
    stamp = directory / STAMP
    return (directory / BUILD).is_file() and stamp.is_file() and stamp.read_text() == INTEGRITY


def fetch_with_npm() -> bytes:
    """The pinned tarball, packed by ``npm pack`` from the registry."""
    npm = shutil.which("npm")
    assert npm is not None
    with tempfile.TemporaryDirectory(prefix="papertape-npm-") as folder:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", folder, "--silent"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=_TIMEOUT_S * 3,
        )
        return (Path(folder) / f"{PACKAGE}-{VERSION}.tgz").read_bytes()


def fetch_from_registry() -> bytes:
    """The pinned tarball, downloaded from the npm registry without npm."""
    with urllib.request.urlopen(TARBALL_URL, timeout=_TIMEOUT_S) as answer:
        data: bytes = answer.read()
    return data


def default_fetch() -> Fetch:
    """npm when it is on the PATH, else the plain download."""
    return fetch_with_npm if shutil.which("npm") else fetch_from_registry


def extract(data: bytes) -> bytes:
    """The standalone build out of the package tarball."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        try:
            member = archive.extractfile(MEMBER)
        except KeyError:
            member = None
        if member is None:
            raise IntegrityError(f"{PACKAGE} {VERSION}: no {MEMBER} in the tarball")
        return member.read()


def ensure(directory: Path = VENDOR_DIR, fetch: Fetch | None = None) -> bool:
    """Put the pinned build in ``directory`` unless it is there; whether it fetched."""
    if installed(directory):
        return False
    data = (fetch or default_fetch())()
    verify(data)
    build = extract(data)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / (BUILD + ".tmp")
    temporary.write_bytes(build)
    temporary.replace(directory / BUILD)
    (directory / STAMP).write_text(INTEGRITY)
    return True


def main() -> int:
    try:
        fetched = ensure()
    except (IntegrityError, OSError, subprocess.SubprocessError) as error:
        print(f"dashboard: could not fetch {PACKAGE} {VERSION}: {error}", file=sys.stderr)
        return 1
    verb = "fetched" if fetched else "already have"
    print(f"dashboard: {verb} {PACKAGE} {VERSION} ({INTEGRITY[:19]}…) in {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
