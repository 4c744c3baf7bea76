-- The log defends itself. The hash covers the recorded time too (formula 2, from the position
-- recorded here on; older rows keep formula 1 and still verify). The services' role appends
-- only through the append function, which runs as the log's owner: it has no INSERT on the
-- events table and no write on the head row, and it may log in itself (a login of its own
-- cannot SET ROLE back to the owner, as a superuser's session could).

CREATE TABLE hash_formulas (
    formula        integer PRIMARY KEY CHECK (formula > 0),
    from_position  bigint  NOT NULL CHECK (from_position > 0)
);

-- The head lock keeps appends out while the formula changes, so no row is hashed the old way
-- past the recorded position.
INSERT INTO hash_formulas (formula, from_position)
SELECT 2, h.position + 1 FROM log_head h WHERE singleton FOR UPDATE;

CREATE OR REPLACE FUNCTION append_events(
    p_stream_id       text,
    p_expected        integer,
    p_event_ids       uuid[],
    p_types           text[],
    p_schema_versions integer[],
    p_data            text[],
    p_metadata        text[],
    OUT actual_version integer,
    OUT positions      bigint[]
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_count     integer := cardinality(p_event_ids);
    v_head      bigint;
    v_hash      bytea;
    v_found     integer;
    v_other     integer;
    v_now       timestamptz;
    v_micros    bigint;
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

    -- Never before the last recorded time: a stepped-back clock must not make time run
    -- backwards in the log (audit verify refuses that).
    SELECT greatest(clock_timestamp(), max(e.recorded_at)) INTO v_now
      FROM events e WHERE e.position = v_head;
    v_micros := (extract(epoch FROM v_now) * 1000000)::bigint;
    positions := '{}';
    FOR i IN 1 .. v_count LOOP
        v_prevs[i] := v_hash;
        v_hash := sha256(v_hash || convert_to(concat_ws(E'\n',
            v_head + i, p_stream_id, actual_version + i, p_event_ids[i], p_types[i],
            p_schema_versions[i], v_data[i]::text, v_meta[i]::text, v_micros), 'UTF8'));
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

-- Nobody but the owner creates objects here (PostgreSQL 15 and later say so already): no
-- function or trigger of the service's own can stand in for the log's.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE INSERT ON events FROM papertape_service;
REVOKE UPDATE ON log_head FROM papertape_service;
GRANT SELECT ON hash_formulas TO papertape_service;
REVOKE EXECUTE ON FUNCTION append_events(text, integer, uuid[], text[], integer[], text[], text[])
    FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION append_group(text[], integer[], integer[], uuid[], text[], integer[],
                                        text[], text[]) FROM PUBLIC;

-- Roles are cluster-wide and several databases may run this at once: tolerate the twin.
DO $$
BEGIN
    ALTER ROLE papertape_service LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
        NOBYPASSRLS;
EXCEPTION WHEN OTHERS THEN
    NULL;
END;
$$;
