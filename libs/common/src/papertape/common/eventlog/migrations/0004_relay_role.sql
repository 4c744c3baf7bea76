-- The relay's own role: it reads the log and keeps its checkpoint, and nothing else. The
-- checkpoints (how far each follower has read) belong to it alone: the services' role, which
-- appends, can no longer move a follower's position, and the relay cannot append.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'papertape_relay') THEN
        CREATE ROLE papertape_relay LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT SELECT ON events, log_head, hash_formulas TO papertape_relay;
GRANT SELECT, INSERT, UPDATE ON checkpoints TO papertape_relay;
REVOKE INSERT, UPDATE, DELETE ON checkpoints FROM papertape_service;
-- Snapshots are the portfolio's: written and read, never removed.
REVOKE DELETE ON snapshots FROM papertape_service;
