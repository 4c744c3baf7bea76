-- The notification service's own tables: endpoint secrets, deliveries with every attempt, and
-- what it must remember of the streams it follows (orders' bracket roles, sessions' accounts,
-- notifications of watched levels already sent).
CREATE TABLE IF NOT EXISTS notify_secrets (
    account_id  text        NOT NULL,
    endpoint_id text        NOT NULL,
    sealed      bytea       NOT NULL,
    sealed_with text        NOT NULL CHECK (sealed_with IN ('aes-gcm', 'none')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, endpoint_id)
);

CREATE TABLE IF NOT EXISTS notify_deliveries (
    delivery_id     text        PRIMARY KEY,
    account_id      text        NOT NULL,
    endpoint_id     text        NOT NULL,
    kind            text        NOT NULL,
    target          text        NOT NULL,
    notification_id text        NOT NULL,
    happening       text        NOT NULL,
    payload         bytea       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    budget          integer     NOT NULL CHECK (budget > 0),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    UNIQUE (notification_id, account_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS notify_deliveries_due
    ON notify_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notify_deliveries_account
    ON notify_deliveries (account_id, created_at DESC);
CREATE INDEX IF NOT EXISTS notify_deliveries_dead
    ON notify_deliveries (created_at DESC) WHERE status = 'dead';

CREATE TABLE IF NOT EXISTS notify_attempts (
    delivery_id text        NOT NULL REFERENCES notify_deliveries (delivery_id),
    attempt     integer     NOT NULL,
    at          timestamptz NOT NULL,
    ok          boolean     NOT NULL,
    status_code integer,
    latency_ms  numeric     NOT NULL,
    error       text        NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE IF NOT EXISTS notify_order_roles (
    order_id   text PRIMARY KEY,
    account_id text NOT NULL,
    role       text NOT NULL
);

CREATE TABLE IF NOT EXISTS notify_session_accounts (
    session_id text PRIMARY KEY,
    account_id text NOT NULL
);

-- Notifications of watched levels (drawdown, the daily P&L) already made: once each.
CREATE TABLE IF NOT EXISTS notify_watched (
    notification_id text        PRIMARY KEY,
    account_id      text        NOT NULL,
    made_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Each watched account's equity at the first look of a UTC day: the next day's summary of it.
CREATE TABLE IF NOT EXISTS notify_day_open (
    account_id text    NOT NULL,
    day        date    NOT NULL,
    equity     numeric NOT NULL,
    PRIMARY KEY (account_id, day)
);
