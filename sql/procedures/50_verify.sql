-- mf_verify(from, to): recomputes every aggregate level from the staged
-- records, straight (one GROUP BY from staged to each level, not through
-- the level below and not through the stage procedures), and returns one
-- row per difference from what is stored:
--   level    'hour', 'interval', 'day', 'month' or 'year'
--   site, path
--   key      '2026-03-14T10', '2026-03-14/3', '2026-03-14', '2026-03', '2026'
--   measure  a measure column, or 'row' when the whole row is missing
--            (stored 'absent') or should not exist (expected 'absent')
--   stored, expected   the values as text (NULL for SQL NULL)
-- from and to (dates, inclusive, NULL for unbounded) limit the hours,
-- intervals and days checked; months and years are checked when they
-- overlap the range, and always in full. Read-only. Meaningful when the
-- pipeline is idle; while work is pending, pending keys show up as
-- differences.
CREATE OR REPLACE FUNCTION mf_verify(p_from date, p_to date)
RETURNS TABLE (level text, site text, path text, key text, measure text,
               stored text, expected text)
LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' SET jit = off AS $fn$
DECLARE
    lv       record;
    v_lo     timestamptz;
    v_hi     timestamptz;
    v_ga     text := '';
    v_psi    text := '';
    v_expect text := '';
    m        text;
BEGIN
    -- The expected measures, written out from their definition in
    -- pipeline.md: traffic sums; PSI sample count; per metric the count of
    -- samples carrying it, their sum, minimum and maximum.
    v_expect := $$'users', coalesce(sum(users), 0),
                  'sessions', coalesce(sum(sessions), 0),
                  'views', coalesce(sum(views), 0),
                  'bounces', coalesce(sum(bounces), 0),
                  'duration_s', coalesce(sum(duration_s), 0),
                  'psi_samples', count(*) FILTER (WHERE psi)$$;
    FOREACH m IN ARRAY ARRAY['performance_score', 'lcp_ms', 'cls', 'inp_ms',
                             'fcp_ms', 'ttfb_ms'] LOOP
        v_ga := v_ga || format(', NULL::numeric AS %I', m);
        v_psi := v_psi || format(', %I', m);
        v_expect := v_expect || format(
            $$, '%1$s_n', count(%1$I), '%1$s_sum', coalesce(sum(%1$I), 0),
               '%1$s_min', min(%1$I), '%1$s_max', max(%1$I)$$, m);
    END LOOP;

    FOR lv IN SELECT * FROM (VALUES
        (1, 'hour', 'agg_hour', 'hour',
         $$to_char(date_trunc('hour', ts), 'YYYY-MM-DD"T"HH24')$$,
         $$to_char(hour, 'YYYY-MM-DD"T"HH24')$$, 'hour'),
        (2, 'interval', 'agg_interval', 'day',
         $$to_char(ts, 'YYYY-MM-DD') || '/'
           || (extract(hour FROM ts)::int / 4 + 1)$$,
         $$day || '/' || interval$$, 'day::timestamptz'),
        (3, 'day', 'agg_day', 'day', $$to_char(ts, 'YYYY-MM-DD')$$,
         $$day::text$$, 'day::timestamptz'),
        (4, 'month', 'agg_month', 'month', $$to_char(ts, 'YYYY-MM')$$,
         $$to_char(month, 'YYYY-MM')$$, 'month::timestamptz'),
        (5, 'year', 'agg_year', 'year', $$extract(year FROM ts)::int::text$$,
         $$year::text$$, 'make_date(year, 1, 1)::timestamptz'))
        AS t(n, level, tbl, unit, skey, dkey, dstart) ORDER BY n
    LOOP
        -- The staged time range whose rows build the checked keys.
        v_lo := CASE WHEN p_from IS NULL THEN '-infinity'::timestamptz
                     WHEN lv.unit IN ('month', 'year')
                         THEN date_trunc(lv.unit, p_from::timestamptz)
                     ELSE p_from::timestamptz END;
        v_hi := CASE WHEN p_to IS NULL THEN 'infinity'::timestamptz
                     WHEN lv.unit IN ('month', 'year')
                         THEN date_trunc(lv.unit, p_to::timestamptz)
                              + ('1 ' || lv.unit)::interval
                     ELSE p_to::timestamptz + interval '1 day' END;
        RETURN QUERY EXECUTE format($q$
            WITH s AS (
                SELECT page_id, ts, false AS psi, users, sessions, views,
                       bounces, duration_s %1$s
                FROM staged_ga WHERE ts >= $1 AND ts < $2
                UNION ALL
                SELECT page_id, ts, true, NULL::bigint, NULL::bigint,
                       NULL::bigint, NULL::bigint, NULL::numeric %2$s
                FROM staged_psi WHERE ts >= $1 AND ts < $2),
            e AS (
                SELECT page_id, %3$s AS k, jsonb_build_object(%4$s) AS m
                FROM s GROUP BY 1, 2),
            d AS (
                SELECT a.page_id, %5$s AS k,
                       to_jsonb(a) - 'page_id' - 'hour' - 'day'
                           - 'interval' - 'month' - 'year' AS m
                FROM %6$I a WHERE %7$s >= $1 AND %7$s < $2),
            j AS (
                SELECT coalesce(e.page_id, d.page_id) AS page_id,
                       coalesce(e.k, d.k) AS k, e.m AS em, d.m AS dm
                FROM e FULL JOIN d ON d.page_id = e.page_id AND d.k = e.k)
            SELECT %8$L, p.site, p.path, j.k, x.measure, x.stored,
                   x.expected
            FROM j JOIN page p ON p.page_id = j.page_id
            CROSS JOIN LATERAL (
                SELECT 'row' AS measure, 'absent' AS stored,
                       'present' AS expected
                WHERE j.dm IS NULL
                UNION ALL
                SELECT 'row', 'present', 'absent' WHERE j.em IS NULL
                UNION ALL
                SELECT mk, j.dm ->> mk, j.em ->> mk
                FROM jsonb_object_keys(j.em) AS mk
                WHERE j.dm IS NOT NULL
                  AND (j.dm -> mk) IS DISTINCT FROM (j.em -> mk)) x
            ORDER BY p.site, p.path, j.k, x.measure$q$,
            v_ga, v_psi, lv.skey, v_expect, lv.dkey, lv.tbl, lv.dstart,
            lv.level)
            USING v_lo, v_hi;
    END LOOP;
END
$fn$;
