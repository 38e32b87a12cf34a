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
    v_agg  text := '';
    v_join text := '';
    m      text;
BEGIN
    FOREACH m IN ARRAY mf__psi_metrics() LOOP
        v_agg := v_agg || format(
            ', count(s.%1$I) AS %2$I, coalesce(sum(s.%1$I), 0) AS %3$I, '
            'min(s.%1$I) AS %4$I, max(s.%1$I) AS %5$I',
            m, m || '_n', m || '_sum', m || '_min', m || '_max');
        v_join := v_join || format(
            ', coalesce(psi.%1$I, 0) AS %1$I, coalesce(psi.%2$I, 0) AS %2$I, '
            'psi.%3$I, psi.%4$I',
            m || '_n', m || '_sum', m || '_min', m || '_max');
    END LOOP;

    -- GA and PSI rows of the claimed page-days are aggregated per side
    -- (each side only computes its own measures, about three times cheaper
    -- than grouping both kinds together) and full-joined, so an hour with
    -- one side only still exists. The LATERAL ... OFFSET 0 subqueries pin
    -- the plan to one index range scan per claimed page-day whatever the
    -- row estimates.
    -- The stored hours of the claimed page-days are read once (old): hours
    -- no longer produced are deleted by ctid, new hours are inserted
    -- plainly (no other transaction writes these keys while we hold the
    -- claim), and only hours whose measures differ are rewritten.
    RETURN format($q$
        WITH c AS (
            SELECT page_id, day::timestamp AT TIME ZONE 'UTC' AS lo,
                   (day + 1)::timestamp AT TIME ZONE 'UTC' AS hi
            FROM unnest($1::bigint[], $2::text[]::date[]) AS c(page_id, day)),
        ga AS (
            SELECT c.page_id, date_trunc('hour', s.ts, 'UTC') AS hour,
                   sum(s.users)::bigint AS users,
                   sum(s.sessions)::bigint AS sessions,
                   sum(s.views)::bigint AS views,
                   sum(s.bounces)::bigint AS bounces,
                   sum(s.duration_s) AS duration_s
            FROM c CROSS JOIN LATERAL (
                SELECT * FROM staged_ga s
                WHERE s.page_id = c.page_id AND s.ts >= c.lo AND s.ts < c.hi
                OFFSET 0) s
            GROUP BY 1, 2),
        psi AS (
            SELECT c.page_id, date_trunc('hour', s.ts, 'UTC') AS hour,
                   count(*) AS psi_samples %1$s
            FROM c CROSS JOIN LATERAL (
                SELECT * FROM staged_psi s
                WHERE s.page_id = c.page_id AND s.ts >= c.lo AND s.ts < c.hi
                OFFSET 0) s
            GROUP BY 1, 2),
        comp AS MATERIALIZED (
            SELECT coalesce(ga.page_id, psi.page_id) AS page_id,
                   coalesce(ga.hour, psi.hour) AS hour,
                   coalesce(ga.users, 0) AS users,
                   coalesce(ga.sessions, 0) AS sessions,
                   coalesce(ga.views, 0) AS views,
                   coalesce(ga.bounces, 0) AS bounces,
                   coalesce(ga.duration_s, 0) AS duration_s,
                   coalesce(psi.psi_samples, 0) AS psi_samples %2$s
            FROM ga FULL JOIN psi
              ON psi.page_id = ga.page_id AND psi.hour = ga.hour),
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
        v_agg, v_join, NULL,
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
RETURNS integer LANGUAGE plpgsql SET enable_hashagg = off AS $fn$
DECLARE
    v_pids  bigint[];
    v_days  text[];
    v_npids bigint[];
    v_ndays text[];
BEGIN
    EXECUTE mf__claim_sql('pending_page', 'day', 'page') INTO v_pids, v_days
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
