-- Bar history: one row per symbol, width and interval start; an upsert of the same bar is a no-op.
CREATE TABLE IF NOT EXISTS md_bars (
    symbol      text        NOT NULL,
    timeframe   text        NOT NULL,
    start       timestamptz NOT NULL,
    "end"       timestamptz NOT NULL,
    open        numeric     NOT NULL,
    high        numeric     NOT NULL,
    low         numeric     NOT NULL,
    close       numeric     NOT NULL,
    volume      numeric     NOT NULL,
    source      text        NOT NULL,
    in_session  boolean     NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (symbol, timeframe, start),
    CHECK (low <= open AND low <= close AND high >= open AND high >= close AND "end" > start)
);
