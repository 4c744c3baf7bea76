"""The system account an embedded PostgreSQL runs as (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSTEM_USER = "papertape_pg"
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH
_READ = stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class ServerAccount:
    """Who runs the server: ``None`` ids mean "the current user"."""

    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``subprocess`` that drop to this account."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give ``path`` (one level, no recursion) to this account."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def server_account(bin_dir: Path, base: Path) -> ServerAccount:
    """The current user, or when root the system user with access to the binaries and ``base``."""
    if os.geteuid() != 0:
        return ServerAccount()
    entry = _ensure_system_user(SYSTEM_USER)
    _allow_traversal(base)
    _allow_reading(bin_dir.parent)
    return ServerAccount(uid=entry.pw_uid, gid=entry.pw_gid)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    error = ""
    for attempt in range(10):  # concurrent starts (xdist workers) race for the passwd lock
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=False,
        )
        error = done.stderr.strip()
        if done.returncode != 0:
            time.sleep(0.1 * (attempt + 1))
    raise PermissionError(f"cannot create system user {name}: {error}")


def _allow_traversal(path: Path) -> None:
    """Let other users traverse ``path`` and every folder above it (search bit only, no listing)."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            folder.chmod(mode | _TRAVERSE)


def _allow_reading(install_dir: Path) -> None:
    """Make the PostgreSQL installation readable and its programs executable by other users."""
    _allow_traversal(install_dir)
    for root, dirs, files in os.walk(install_dir):
        for name in dirs:
            _add_mode(Path(root, name), _READ | _TRAVERSE)
        for name in files:
            file = Path(root, name)
            extra = _READ | _TRAVERSE if file.stat().st_mode & stat.S_IXUSR else _READ
            _add_mode(file, extra)


def _add_mode(path: Path, bits: int) -> None:
    if path.is_symlink():
        return
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)
