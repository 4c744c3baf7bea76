-- The delivery store's own role: its tables only; it cannot see the event log at all.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'papertape_notification') THEN
        CREATE ROLE papertape_notification LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON notify_secrets TO papertape_notification;
GRANT SELECT, INSERT, UPDATE ON notify_deliveries TO papertape_notification;
GRANT SELECT, INSERT ON notify_attempts TO papertape_notification;
GRANT SELECT, INSERT, UPDATE ON notify_order_roles, notify_session_accounts, notify_watched,
    notify_day_open
    TO papertape_notification;
