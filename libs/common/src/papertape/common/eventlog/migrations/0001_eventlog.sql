-- The append-only event log: one table, a single-row head that serializes position
-- assignment (gap-free positions, and the hash chain's previous hash), snapshots and
-- subscriber checkpoints.

CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL UNIQUE,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- One row: the last position and its hash. Appends lock it, so positions commit in order.
CREATE TABLE log_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position   bigint  NOT NULL,
    hash       bytea   NOT NULL
);
INSERT INTO log_head (singleton, position, hash) VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE snapshots (
    stream_id             text        NOT NULL,
    state_schema_version  integer     NOT NULL,
    version               integer     NOT NULL,
    state                 bytea       NOT NULL,
    taken_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (stream_id, state_schema_version)
);

CREATE TABLE checkpoints (
    name        text        PRIMARY KEY,
    position    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The database itself refuses to rewrite history.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Append in one round trip: lock the head, replay a retry, check the version, chain the
-- hashes, insert, move the head and notify followers. Returns the positions, or NULL
-- positions and the stream's actual version on a concurrency conflict.
CREATE FUNCTION append_events(
    p_stream_id       text,
    p_expected        integer,
    p_event_ids       uuid[],
    p_types           text[],
    p_schema_versions integer[],
    p_data            text[],
    p_metadata        text[],
    OUT actual_version integer,
    OUT positions      bigint[]
) LANGUAGE plpgsql AS $$
DECLARE
    v_count     integer := cardinality(p_event_ids);
    v_head      bigint;
    v_hash      bytea;
    v_found     integer;
    v_other     integer;
    v_now       timestamptz;
    v_data      jsonb[] := p_data::jsonb[];
    v_meta      jsonb[] := p_metadata::jsonb[];
    v_versions  integer[] := '{}';
    v_prevs     bytea[] := '{}';
    v_hashes    bytea[] := '{}';
BEGIN
    IF v_count IS NULL OR v_count = 0 THEN
        RAISE EXCEPTION 'nothing to append' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strpos(p_stream_id, E'\n') > 0 OR p_stream_id = '' THEN
        RAISE EXCEPTION 'invalid stream id %', p_stream_id USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT h.position, h.hash INTO v_head, v_hash FROM log_head h WHERE singleton FOR UPDATE;

    -- A retried append: every id is stored already, in this stream, so replay the positions.
    IF EXISTS (SELECT 1 FROM events WHERE event_id = p_event_ids[1]) THEN
        SELECT count(e.position), count(*) FILTER (WHERE e.stream_id IS DISTINCT FROM p_stream_id),
               array_agg(e.position ORDER BY u.ord)
          INTO v_found, v_other, positions
          FROM unnest(p_event_ids) WITH ORDINALITY AS u(id, ord)
          LEFT JOIN events e ON e.event_id = u.id;
        IF v_found <> v_count OR v_other > 0 THEN
            RAISE EXCEPTION 'some of these events are stored already, not all in stream %', p_stream_id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_event_id_key';
        END IF;
        SELECT e.stream_version INTO actual_version FROM events e
         WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
        RETURN;
    END IF;

    SELECT e.stream_version INTO actual_version FROM events e
     WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
    actual_version := coalesce(actual_version, 0);
    IF p_expected IS NOT NULL AND p_expected <> actual_version THEN
        positions := NULL;
        RETURN;
    END IF;

    v_now := clock_timestamp();
    positions := '{}';
    FOR i IN 1 .. v_count LOOP
        v_prevs[i] := v_hash;
        v_hash := sha256(v_hash || convert_to(concat_ws(E'\n',
            v_head + i, p_stream_id, actual_version + i, p_event_ids[i], p_types[i],
            p_schema_versions[i], v_data[i]::text, v_meta[i]::text), 'UTF8'));
        v_hashes[i] := v_hash;
        v_versions[i] := actual_version + i;
        positions[i] := v_head + i;
    END LOOP;

    INSERT INTO events (position, stream_id, stream_version, event_id, type, schema_version,
                        data, metadata, recorded_at, prev_hash, hash)
    SELECT u.position, p_stream_id, u.version, u.event_id, u.type, u.schema_version,
           u.data, u.metadata, v_now, u.prev_hash, u.hash
      FROM unnest(positions, v_versions, p_event_ids, p_types, p_schema_versions,
                  v_data, v_meta, v_prevs, v_hashes)
        AS u(position, version, event_id, type, schema_version, data, metadata, prev_hash, hash);

    UPDATE log_head SET position = v_head + v_count, hash = v_hash WHERE singleton;
    actual_version := actual_version + v_count;
    PERFORM pg_notify('papertape_eventlog', (v_head + v_count)::text);
END;
$$;

-- The services' role: read and append, never rewrite. Roles are cluster-wide, and several
-- databases may run this migration at once, so creation tolerates a concurrent twin.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'papertape_service') THEN
        CREATE ROLE papertape_service NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT SELECT, INSERT ON events TO papertape_service;
GRANT SELECT, UPDATE ON log_head TO papertape_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots, checkpoints TO papertape_service;
GRANT EXECUTE ON FUNCTION append_events(text, integer, uuid[], text[], integer[], text[], text[])
    TO papertape_service;
