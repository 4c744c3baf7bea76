"""Real NATS and PostgreSQL for tests and ``papertape run``: configured, embedded or Docker."""

from papertape.common.servers.databases import create_database, database_url, drop_database
from papertape.common.servers.nats_server import EmbeddedNats, nats_server_binary
from papertape.common.servers.postgres_server import EmbeddedPostgres, postgres_bin_dir
from papertape.common.servers.processes import ServerStartError
from papertape.common.servers.resolution import (
    ResolvedServer,
    ServersUnavailable,
    ServerUrls,
    resolve_nats,
    resolve_postgres,
    resolve_servers,
)
from papertape.common.servers.streams import declare_streams, delete_streams, stream_config

__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "ResolvedServer",
    "ServerStartError",
    "ServerUrls",
    "ServersUnavailable",
    "create_database",
    "database_url",
    "declare_streams",
    "delete_streams",
    "drop_database",
    "nats_server_binary",
    "postgres_bin_dir",
    "resolve_nats",
    "resolve_postgres",
    "resolve_servers",
    "stream_config",
]
