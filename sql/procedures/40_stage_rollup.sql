-- mf__stage_rollup(stage, max_keys): the stages 'interval', 'daily',
-- 'monthly' and 'yearly'. Each adds up the level below for its claimed
-- keys; they differ only in the tables and key expressions below.
--
-- Steps, in this order (docs/ARCHITECTURE.md explains why the order
-- matters for deadlock freedom):
--   1. claim up to max_keys keys of the stage's queue (mf__claim_sql);
--   2. in a later statement (a snapshot taken after the claim), recompute
--      every target row of the claimed keys from the complete level below,
--      replace the rows that differ and delete the rows whose sources are
--      all gone;
--   3. mark the next stage's keys of the rows that changed;
--   4. daily, monthly, yearly: give the changed pages a new data_version.
-- Returns the number of keys claimed (0: nothing pending).
CREATE OR REPLACE FUNCTION mf__stage_rollup(p_stage text, p_max integer)
RETURNS integer LANGUAGE plpgsql SET enable_hashagg = off AS $fn$
DECLARE
    -- queue, its key column and type
    v_queue text;
    v_key   text;
    v_ktype text;
    -- source table and the condition tying its row s to claimed key c.k
    v_src   text;
    v_in    text;
    -- target table, its key columns, their values from s and c, and the
    -- condition tying a target row d to claimed key c.k
    v_dst   text;
    v_dkeys text;
    v_dvals text;
    v_dme   text;
    -- next queue, its key column and type, and the key of target row d
    v_next  text;
    v_nkey  text;
    v_ntype text;
    v_nval  text;
    v_bump  boolean := true;
    v_sql   text;
    v_pids  bigint[];
    v_keys  text[];
    v_npids bigint[];
    v_nkeys text[];
BEGIN
    CASE p_stage
    WHEN 'interval' THEN
        v_queue := 'pending_interval'; v_key := 'day'; v_ktype := 'date';
        v_src := 'agg_hour';
        v_in := $$s.hour >= c.k::timestamp AT TIME ZONE 'UTC'
                  AND s.hour < (c.k + 1)::timestamp AT TIME ZONE 'UTC'$$;
        v_dst := 'agg_interval'; v_dkeys := 'day, interval';
        v_dvals := $$c.k AS day,
                     (extract(hour FROM s.hour AT TIME ZONE 'UTC')::int / 4
                      + 1)::smallint AS interval$$;
        v_dme := 'd.day = c.k';
        v_next := 'pending_daily'; v_nkey := 'day'; v_ntype := 'date';
        v_nval := 'd.day';
        v_bump := false;
    WHEN 'daily' THEN
        v_queue := 'pending_daily'; v_key := 'day'; v_ktype := 'date';
        v_src := 'agg_interval';
        v_in := 's.day = c.k';
        v_dst := 'agg_day'; v_dkeys := 'day'; v_dvals := 'c.k AS day';
        v_dme := 'd.day = c.k';
        v_next := 'pending_monthly'; v_nkey := 'month'; v_ntype := 'date';
        v_nval := $$date_trunc('month', d.day::timestamp)::date$$;
    WHEN 'monthly' THEN
        v_queue := 'pending_monthly'; v_key := 'month'; v_ktype := 'date';
        v_src := 'agg_day';
        v_in := $$s.day >= c.k AND s.day < (c.k + interval '1 month')::date$$;
        v_dst := 'agg_month'; v_dkeys := 'month'; v_dvals := 'c.k AS month';
        v_dme := 'd.month = c.k';
        v_next := 'pending_yearly'; v_nkey := 'year'; v_ntype := 'integer';
        v_nval := 'extract(year FROM d.month)::integer';
    WHEN 'yearly' THEN
        v_queue := 'pending_yearly'; v_key := 'year'; v_ktype := 'integer';
        v_src := 'agg_month';
        v_in := 's.month >= make_date(c.k, 1, 1)
                 AND s.month < make_date(c.k + 1, 1, 1)';
        v_dst := 'agg_year'; v_dkeys := 'year'; v_dvals := 'c.k AS year';
        v_dme := 'd.year = c.k';
        v_nval := 'd.year';
    ELSE
        RAISE EXCEPTION 'mf__stage_rollup: unknown stage %', p_stage
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;

    -- Step 1: the claim.
    EXECUTE mf__claim_sql(v_queue, v_key, p_stage) INTO v_pids, v_keys USING p_max;
    IF v_pids IS NULL THEN
        RETURN 0;
    END IF;

    -- Step 2: recompute, replace, delete; collect the changed next keys.
    v_sql := format($q$
        WITH c AS (
            SELECT * FROM unnest($1::bigint[], $2::text[]::%1$s[])
                AS c(page_id, k)),
        comp AS MATERIALIZED (
            SELECT c.page_id, %2$s, %3$s
            FROM c CROSS JOIN LATERAL (
                SELECT * FROM %4$I s WHERE s.page_id = c.page_id AND %5$s
                OFFSET 0) s
            GROUP BY %14$s),
        old AS MATERIALIZED (
            SELECT d.*
            FROM c CROSS JOIN LATERAL (
                SELECT d.ctid AS tid, d.* FROM %6$I d
                WHERE d.page_id = c.page_id AND %7$s
                OFFSET 0) d),
        del AS (
            DELETE FROM %6$I d
            WHERE d.ctid = ANY (ARRAY(
                SELECT tid FROM old d
                WHERE NOT EXISTS (
                    SELECT 1 FROM comp
                    WHERE (comp.page_id, %8$s) = (d.page_id, %9$s))))
            RETURNING d.page_id, %10$s AS nk),
        ins AS (
            INSERT INTO %6$I AS d (page_id, %15$s, %11$s)
            SELECT * FROM comp
            WHERE NOT EXISTS (
                SELECT 1 FROM old d
                WHERE (comp.page_id, %8$s) = (d.page_id, %9$s))
            ORDER BY %14$s
            RETURNING d.page_id, %10$s AS nk),
        up AS (
            INSERT INTO %6$I AS d (page_id, %15$s, %11$s)
            SELECT comp.* FROM comp JOIN old d
              ON (comp.page_id, %8$s) = (d.page_id, %9$s)
            WHERE (%13$s) IS DISTINCT FROM (%16$s)
            ORDER BY %14$s
            ON CONFLICT (page_id, %15$s) DO UPDATE SET (%11$s) = (%12$s)
            RETURNING d.page_id, %10$s AS nk),
        ch AS (
            SELECT DISTINCT page_id, nk
            FROM (SELECT * FROM ins UNION ALL SELECT * FROM up
                  UNION ALL SELECT * FROM del) x)
        SELECT array_agg(page_id ORDER BY page_id, nk),
               array_agg(nk::text ORDER BY page_id, nk)
        FROM ch$q$,
        v_ktype, v_dvals, mf__rollup_cols('s'), v_src, v_in,
        v_dst, v_dme,
        (SELECT string_agg('comp.' || trim(x), ', ')
         FROM unnest(string_to_array(v_dkeys, ',')) AS x),
        (SELECT string_agg('d.' || trim(x), ', ')
         FROM unnest(string_to_array(v_dkeys, ',')) AS x),
        v_nval, mf__cols(''), mf__cols('EXCLUDED.'), mf__cols('d.'),
        (SELECT string_agg(i::text, ', ')
         FROM generate_series(1, 1 + cardinality(
             string_to_array(v_dkeys, ','))) AS i),
        v_dkeys, mf__cols('comp.'));
    EXECUTE v_sql INTO v_npids, v_nkeys USING v_pids, v_keys;
    IF v_npids IS NULL THEN
        RETURN cardinality(v_pids);
    END IF;

    -- Step 3: work for the next stage.
    IF v_next IS NOT NULL THEN
        EXECUTE mf__mark_sql(v_next, v_nkey, v_ntype)
            USING v_npids, v_nkeys;
    END IF;

    -- Step 4: new versions for the pages whose day/month/year changed.
    IF v_bump THEN
        PERFORM mf__bump_versions(
            ARRAY(SELECT DISTINCT p FROM unnest(v_npids) AS p ORDER BY p));
    END IF;
    RETURN cardinality(v_pids);
END
$fn$;
