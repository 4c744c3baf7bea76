-- The bar store's own role: it reads and writes bars and cannot see the event log at all.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'papertape_bars') THEN
        CREATE ROLE papertape_bars LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT SELECT, INSERT, UPDATE ON md_bars TO papertape_bars;
