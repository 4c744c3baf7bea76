-- Group commit in one round trip: several appends (each to its own stream, with its own
-- expected version) in the caller's transaction. Each item is an append_events call, so the
-- head lock, the retry replay, the version check and the hash chain are exactly the same;
-- a conflicting item returns NULL positions and its stream's actual version, the others go on.
CREATE FUNCTION append_group(
    p_stream_ids      text[],
    p_expected        integer[],
    p_counts          integer[],
    p_event_ids       uuid[],
    p_types           text[],
    p_schema_versions integer[],
    p_data            text[],
    p_metadata        text[]
) RETURNS TABLE (item integer, actual_version integer, positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    v_first integer := 1;
    v_last  integer;
BEGIN
    FOR i IN 1 .. cardinality(p_stream_ids) LOOP
        v_last := v_first + p_counts[i] - 1;
        item := i;
        SELECT a.actual_version, a.positions INTO actual_version, positions
          FROM append_events(p_stream_ids[i], p_expected[i], p_event_ids[v_first:v_last],
                             p_types[v_first:v_last], p_schema_versions[v_first:v_last],
                             p_data[v_first:v_last], p_metadata[v_first:v_last]) a;
        RETURN NEXT;
        v_first := v_last + 1;
    END LOOP;
END;
$$;

GRANT EXECUTE ON FUNCTION append_group(text[], integer[], integer[], uuid[], text[], integer[],
                                       text[], text[]) TO papertape_service;
