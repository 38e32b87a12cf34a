-- mf__page_sql(): the statement of the page stage. With $1 (page ids) and
-- $2 (days as text) holding the claimed page-days, it recomputes every hour
-- of those page-days from the complete staged GA and PSI levels (a
-- page-hour with only one side still exists; the other side reads as zero
-- traffic or no samples), replaces the stored hours that differ, deletes
-- stored hours that no longer have any staged record, and returns the
-- changed page-days as two sorted arrays (page ids, days as text).
CREATE OR REPLACE FUNCTION mf__page_sql()
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
    v_gnull text := '';
    v_pcols text := '';
    v_agg   text := '';
    m       text;
BEGIN
    FOREACH m IN ARRAY mf__psi_metrics() LOOP
        v_gnull := v_gnull || format(', NULL::numeric AS %I', m);
        v_pcols := v_pcols || format(', s.%I', m);
        v_agg := v_agg || format(
            ', count(%1$I) AS %2$I, coalesce(sum(%1$I), 0) AS %3$I, '
            'min(%1$I) AS %4$I, max(%1$I) AS %5$I',
            m, m || '_n', m || '_sum', m || '_min', m || '_max');
    END LOOP;

    -- GA and PSI rows of the claimed page-days are read side by side
    -- (UNION ALL) and grouped once, so an hour with one side only still
    -- appears. The LATERAL ... OFFSET 0 subqueries pin the plan to one
    -- index range scan per claimed page-day whatever the row estimates.
    -- The stored hours of the claimed page-days are read once (old): hours
    -- no longer produced are deleted by ctid, new hours are inserted
    -- plainly (no other transaction writes these keys while we hold the
    -- claim), and only hours whose measures differ are rewritten.
    RETURN format($q$
        WITH c AS (
            SELECT page_id, day::timestamp AT TIME ZONE 'UTC' AS lo,
                   (day + 1)::timestamp AT TIME ZONE 'UTC' AS hi
            FROM unnest($1::bigint[], $2::text[]::date[]) AS c(page_id, day)),
        src AS (
            SELECT c.page_id, date_trunc('hour', s.ts, 'UTC') AS hour,
                   false AS psi, s.users, s.sessions, s.views, s.bounces,
                   s.duration_s %1$s
            FROM c CROSS JOIN LATERAL (
                SELECT * FROM staged_ga s
                WHERE s.page_id = c.page_id AND s.ts >= c.lo AND s.ts < c.hi
                OFFSET 0) s
            UNION ALL
            SELECT c.page_id, date_trunc('hour', s.ts, 'UTC'), true,
                   NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                   NULL::numeric %2$s
            FROM c CROSS JOIN LATERAL (
                SELECT * FROM staged_psi s
                WHERE s.page_id = c.page_id AND s.ts >= c.lo AND s.ts < c.hi
                OFFSET 0) s),
        comp AS MATERIALIZED (
            SELECT page_id, hour,
                   coalesce(sum(users), 0)::bigint AS users,
                   coalesce(sum(sessions), 0)::bigint AS sessions,
                   coalesce(sum(views), 0)::bigint AS views,
                   coalesce(sum(bounces), 0)::bigint AS bounces,
                   coalesce(sum(duration_s), 0) AS duration_s,
                   count(*) FILTER (WHERE psi) AS psi_samples %3$s
            FROM src GROUP BY page_id, hour),
        old AS MATERIALIZED (
            SELECT a.*
            FROM c CROSS JOIN LATERAL (
                SELECT a.ctid AS tid, a.* FROM agg_hour a
                WHERE a.page_id = c.page_id AND a.hour >= c.lo
                  AND a.hour < c.hi
                OFFSET 0) a),
        del AS (
            DELETE FROM agg_hour d
            WHERE d.ctid = ANY (ARRAY(
                SELECT tid FROM old o
                WHERE NOT EXISTS (SELECT 1 FROM comp
                                  WHERE comp.page_id = o.page_id
                                    AND comp.hour = o.hour)))
            RETURNING d.page_id, d.hour),
        ins AS (
            INSERT INTO agg_hour (page_id, hour, %4$s)
            SELECT * FROM comp
            WHERE NOT EXISTS (SELECT 1 FROM old o
                              WHERE o.page_id = comp.page_id
                                AND o.hour = comp.hour)
            ORDER BY 1, 2
            RETURNING page_id, hour),
        up AS (
            INSERT INTO agg_hour AS d (page_id, hour, %4$s)
            SELECT comp.* FROM comp JOIN old o
              ON o.page_id = comp.page_id AND o.hour = comp.hour
            WHERE (%6$s) IS DISTINCT FROM (%7$s)
            ORDER BY 1, 2
            ON CONFLICT (page_id, hour) DO UPDATE SET (%4$s) = (%5$s)
            RETURNING d.page_id, d.hour),
        ch AS (
            SELECT DISTINCT page_id, (hour AT TIME ZONE 'UTC')::date AS day
            FROM (SELECT * FROM ins UNION ALL SELECT * FROM up
                  UNION ALL SELECT * FROM del) x)
        SELECT array_agg(page_id ORDER BY page_id, day),
               array_agg(day::text ORDER BY page_id, day)
        FROM ch$q$,
        v_gnull, v_pcols, v_agg,
        mf__cols(''), mf__cols('EXCLUDED.'), mf__cols('o.'),
        mf__cols('comp.'));
END
$fn$;

-- mf__stage_page(max_keys): the page stage. Claims up to max_keys pending
-- page-days, recomputes their hours (mf__page_sql) in a later statement,
-- so the READ COMMITTED snapshot it reads from is taken after the claim,
-- and marks the changed page-days for the interval stage.
-- Returns the number of page-days claimed (0: nothing pending).
CREATE OR REPLACE FUNCTION mf__stage_page(p_max integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_pids  bigint[];
    v_days  text[];
    v_npids bigint[];
    v_ndays text[];
BEGIN
    EXECUTE mf__claim_sql('pending_page', 'day') INTO v_pids, v_days
        USING p_max;
    IF v_pids IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE mf__page_sql() INTO v_npids, v_ndays USING v_pids, v_days;
    IF v_npids IS NOT NULL THEN
        EXECUTE mf__mark_sql('pending_interval', 'day', 'date')
            USING v_npids, v_ndays;
    END IF;
    RETURN cardinality(v_pids);
END
$fn$;
