-- The pipeline's interface to the workers and to the API / admin tool.

-- mf_stage_run(stage, max_units): one run of a stage, in the caller's
-- transaction.
--
-- stage is one of 'stage-ga', 'stage-psi' (unit: a raw batch), 'page',
-- 'interval', 'daily' (unit: a page-day), 'monthly' (a page-month) or
-- 'yearly' (a page-year). The run claims up to max_units pending units,
-- recomputes the keys they cover from the complete level below, replaces
-- them, records the work it creates for the next stage, and records the run
-- in stage_state. Returns the number of units processed; 0 means nothing
-- was pending, or the oldest pending units are all held by other runs
-- (which call again when they commit).
--
-- The caller commits after each call and calls again until it returns 0.
-- The transaction must be READ COMMITTED: the protocol relies on each
-- statement taking a fresh snapshot (feature_not_supported otherwise).
-- Concurrent runs of the staging and version-bumping steps can deadlock in
-- rare lock orders; retry on SQLSTATE 40P01 and 40001. An unknown stage or a
-- max_units below 1 raises invalid_parameter_value (22023). On any error
-- the caller rolls back and the claimed work is pending again.
CREATE OR REPLACE FUNCTION mf_stage_run(stage text, max_units integer)
RETURNS integer LANGUAGE plpgsql
SET TimeZone = 'UTC' SET jit = off SET work_mem = '256MB' AS $fn$
DECLARE
    v_stage text := $1;
    v_t0    timestamptz := clock_timestamp();
    v_n     integer;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'mf_stage_run needs a READ COMMITTED transaction'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF max_units IS NULL OR max_units < 1 THEN
        RAISE EXCEPTION 'mf_stage_run: max_units must be at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    CASE v_stage
    WHEN 'stage-ga' THEN v_n := mf__stage_raw('ga', max_units);
    WHEN 'stage-psi' THEN v_n := mf__stage_raw('psi', max_units);
    WHEN 'page' THEN v_n := mf__stage_page(max_units);
    WHEN 'interval', 'daily', 'monthly', 'yearly' THEN
        v_n := mf__stage_rollup(v_stage, max_units);
    ELSE
        RAISE EXCEPTION 'mf_stage_run: unknown stage "%"', left(v_stage, 40)
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;

    -- Last, so the row lock is held only until the caller commits.
    UPDATE stage_state s SET
        last_run_at = now(),
        last_work_at = CASE WHEN v_n > 0 THEN now() ELSE s.last_work_at END,
        last_units = v_n,
        runs = s.runs + (v_n > 0)::int,
        units = s.units + v_n,
        busy_ms = s.busy_ms + CASE WHEN v_n > 0 THEN
            extract(epoch FROM clock_timestamp() - v_t0) * 1000 ELSE 0 END
    WHERE s.stage = v_stage;
    RETURN v_n;
END
$fn$;

-- mf_pipeline_status(): one row per stage, in chain order: stage; pending
-- (distinct units waiting, including units a worker is processing right
-- now, since its claim is not committed); oldest_pending_s (age of the oldest pending
-- unit in seconds, NULL when none); last_run_at (last call of any worker,
-- even one that found nothing); last_work_at (last call that did work);
-- runs, units and busy_s (calls that did work, units done, seconds spent
-- in them, since the database was created).
--
-- One statement, so all stages are read from one snapshot: the pipeline is
-- idle exactly when every pending count is 0 in one answer.
CREATE OR REPLACE FUNCTION mf_pipeline_status()
RETURNS TABLE (stage text, pending bigint, oldest_pending_s double precision,
               last_run_at timestamptz, last_work_at timestamptz,
               runs bigint, units bigint, busy_s double precision)
LANGUAGE sql STABLE AS $$
    WITH q (stage, n, oldest) AS (
        SELECT b.stage, count(*), min(b.created_at) FROM pending_batch b
            GROUP BY b.stage
        UNION ALL SELECT 'page', count(DISTINCT (page_id, day)),
            min(created_at) FROM pending_page
        UNION ALL SELECT 'interval', count(DISTINCT (page_id, day)),
            min(created_at) FROM pending_interval
        UNION ALL SELECT 'daily', count(DISTINCT (page_id, day)),
            min(created_at) FROM pending_daily
        UNION ALL SELECT 'monthly', count(DISTINCT (page_id, month)),
            min(created_at) FROM pending_monthly
        UNION ALL SELECT 'yearly', count(DISTINCT (page_id, year)),
            min(created_at) FROM pending_yearly)
    SELECT s.stage, coalesce(q.n, 0),
           CASE WHEN q.oldest IS NOT NULL THEN greatest(
               extract(epoch FROM clock_timestamp() - q.oldest), 0)::float8
           END,
           s.last_run_at, s.last_work_at, s.runs, s.units, s.busy_ms / 1000
    FROM stage_state s LEFT JOIN q ON q.stage = s.stage
    ORDER BY s.ord
$$;

-- mf_pipeline_idle(): true when no stage has work pending (the same answer
-- as every pending count of mf_pipeline_status() being 0, from one
-- snapshot), found without counting: each queue is asked for one row. For
-- waiting on the pipeline in a loop, as the benchmarks do, where counting
-- hundreds of thousands of queued keys five times a second would cost the
-- pipeline a noticeable share of the CPU.
CREATE OR REPLACE FUNCTION mf_pipeline_idle()
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT (EXISTS (SELECT 1 FROM pending_batch)
                OR EXISTS (SELECT 1 FROM pending_page)
                OR EXISTS (SELECT 1 FROM pending_interval)
                OR EXISTS (SELECT 1 FROM pending_daily)
                OR EXISTS (SELECT 1 FROM pending_monthly)
                OR EXISTS (SELECT 1 FROM pending_yearly))
$$;

-- mf_stage_should_wait(stage, max_wait_s): true when a run of the stage now
-- would most likely be redone soon, so the worker may wait instead: the
-- stage has work pending, its oldest pending unit has waited less than
-- max_wait_s seconds, and a stage earlier in the chain still has work
-- pending (whose results will mark the same keys again). A monthly run in
-- the middle of a bulk load recomputes each active page-month once per
-- call of the daily stage; waiting for the daily stage to drain, at most
-- max_wait_s, recomputes it once. Nothing is claimed or changed, so the
-- answer is only advice: correctness never depends on it. One row is asked
-- of each earlier queue, as in mf_pipeline_idle(). An unknown stage raises
-- invalid_parameter_value (22023).
CREATE OR REPLACE FUNCTION mf_stage_should_wait(stage text,
                                                max_wait_s double precision)
RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v_ord    smallint;
    v_oldest timestamptz;
BEGIN
    SELECT s.ord INTO v_ord FROM stage_state s WHERE s.stage = $1;
    IF v_ord IS NULL THEN
        RAISE EXCEPTION 'mf_stage_should_wait: unknown stage "%"',
            left($1, 40) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The staging stages have only the ingest before them.
    IF v_ord <= 2 OR max_wait_s IS NULL OR max_wait_s <= 0 THEN
        RETURN false;
    END IF;
    v_oldest := CASE $1
        WHEN 'page' THEN (SELECT min(created_at) FROM pending_page)
        WHEN 'interval' THEN (SELECT min(created_at) FROM pending_interval)
        WHEN 'daily' THEN (SELECT min(created_at) FROM pending_daily)
        WHEN 'monthly' THEN (SELECT min(created_at) FROM pending_monthly)
        ELSE (SELECT min(created_at) FROM pending_yearly) END;
    IF v_oldest IS NULL
       OR v_oldest <= clock_timestamp() - make_interval(secs => max_wait_s)
    THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM pending_batch)
        OR (v_ord > 3 AND EXISTS (SELECT 1 FROM pending_page))
        OR (v_ord > 4 AND EXISTS (SELECT 1 FROM pending_interval))
        OR (v_ord > 5 AND EXISTS (SELECT 1 FROM pending_daily))
        OR (v_ord > 6 AND EXISTS (SELECT 1 FROM pending_monthly));
END
$fn$;
