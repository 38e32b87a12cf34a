-- A stand-in for the pipeline's mf_stage_run, for the worker's own tests:
-- it has the same signature and contract (claims up to max_units pending
-- units of a stage, records the work it creates for the next stage, all in
-- the caller's transaction), but the units are plain rows, so a test can
-- check that every unit passed every stage exactly once.
--
--   t_work(stage, origin)   pending units
--   t_done(stage, origin)   units a committed call processed
--   t_calls                 one row per committed call
--   t_fail(stage)           a stage listed here raises an error
--   t_delay(seconds)        each call that finds work sleeps this long
CREATE TABLE t_work (id bigserial PRIMARY KEY, stage text NOT NULL,
                     origin bigint NOT NULL);
CREATE INDEX ON t_work (stage, id);
CREATE TABLE t_done (stage text NOT NULL, origin bigint NOT NULL,
                     pid integer NOT NULL DEFAULT pg_backend_pid());
CREATE TABLE t_calls (stage text NOT NULL, max_units integer NOT NULL,
                      n integer NOT NULL,
                      at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE t_fail (stage text PRIMARY KEY);
CREATE TABLE t_delay (seconds double precision NOT NULL);
INSERT INTO t_delay VALUES (0);

CREATE OR REPLACE FUNCTION mf_stage_run(stage text, max_units integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_next text;
    v_n integer;
BEGIN
    IF EXISTS (SELECT 1 FROM t_fail f WHERE f.stage = $1) THEN
        RAISE EXCEPTION 'injected failure in stage %', $1;
    END IF;
    v_next := CASE $1 WHEN 'stage-ga' THEN 'page' WHEN 'stage-psi' THEN 'page'
        WHEN 'page' THEN 'interval' WHEN 'interval' THEN 'daily'
        WHEN 'daily' THEN 'monthly' WHEN 'monthly' THEN 'yearly' END;
    WITH c AS (
        DELETE FROM t_work w WHERE w.id IN (
            SELECT x.id FROM t_work x WHERE x.stage = $1 ORDER BY x.id
            LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING w.origin),
    d AS (INSERT INTO t_done (stage, origin) SELECT $1, c.origin FROM c
          RETURNING 1),
    n AS (INSERT INTO t_work (stage, origin)
          SELECT v_next, c.origin FROM c WHERE v_next IS NOT NULL)
    SELECT count(*) INTO v_n FROM d;
    IF v_n > 0 THEN
        PERFORM pg_sleep((SELECT seconds FROM t_delay LIMIT 1));
    END IF;
    INSERT INTO t_calls (stage, max_units, n) VALUES ($1, $2, v_n);
    RETURN v_n;
END
$fn$;
