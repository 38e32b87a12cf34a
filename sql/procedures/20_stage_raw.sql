-- mf__stage_raw(kind, max_batches): the staging stages 'stage-ga' and
-- 'stage-psi'.
--
-- Claims up to max_batches committed raw batches of the kind from
-- pending_batch (lowest batch id first, skipping batches another worker
-- holds), creates the pages they name, and upserts their records into the
-- staged level under the identity rule: for each (page, ts) the record with
-- the largest (batch_id, ord) wins, whatever order batches are staged in
-- and however often one batch repeats an identity (DISTINCT ON first, then
-- the upsert replaces a stored row only for a larger (batch_id, ord)).
-- Every (page, day) whose staged rows changed is marked in pending_page.
--
-- Sites and paths in raw are already normalised by the ingest's record
-- parser (records.md), so a page is looked up by plain equality.
--
-- Returns the number of batches staged (0: nothing pending). Runs in the
-- caller's transaction, which must be READ COMMITTED (mf_stage_run checks).
--
-- enable_seqscan is off for the run: during a bulk load the statistics of
-- raw lag far behind (a batch id past the last ANALYZE is estimated at a
-- few thousand rows), and the planner then reads the whole raw table for
-- every claimed set of batches instead of their block ranges through the
-- BRIN index, so staging grew with the size of raw, not of the batches.
CREATE OR REPLACE FUNCTION mf__stage_raw(p_kind text, p_max integer)
RETURNS integer LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
    v_stage  text := 'stage-' || p_kind;
    v_raw    text := 'raw_' || p_kind;
    v_staged text := 'staged_' || p_kind;
    v_cols   text[] := CASE p_kind
        WHEN 'ga' THEN
            ARRAY['users', 'sessions', 'views', 'bounces', 'duration_s']
        ELSE mf__psi_metrics() END;
    v_list   text;
    v_excl   text;
    v_ids    bigint[];
BEGIN
    -- Step 1: the claim. A batch is marked once, by the ingest transaction
    -- that wrote it, so a claimed batch is ours alone.
    WITH c AS (
        DELETE FROM pending_batch
        WHERE stage = v_stage AND batch_id IN (
            SELECT batch_id FROM pending_batch WHERE stage = v_stage
            ORDER BY batch_id LIMIT p_max FOR UPDATE SKIP LOCKED)
        RETURNING batch_id)
    SELECT array_agg(batch_id ORDER BY batch_id) INTO v_ids FROM c;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;

    -- Step 2: find the batches' rows. raw is indexed by a BRIN on
    -- batch_id, which skips only summarised block ranges; summarise what
    -- the ingest appended since the last run, so the scan reads the claimed
    -- batches' blocks instead of the whole unsummarised tail. (This takes
    -- a SHARE UPDATE EXCLUSIVE lock on the raw table until commit: runs of
    -- one kind queue here, the ingest's COPY does not.)
    PERFORM brin_summarize_new_values(format('%I_batch', v_raw)::regclass);

    -- Step 3: pages not seen before, in (site, path) order so that two
    -- stagers creating the same pages lock them in the same order. Pages
    -- that exist are filtered out before the insert, so a stager never
    -- waits on a page row that a day/month/year run is updating.
    EXECUTE format($q$
        INSERT INTO page (site, path)
        SELECT DISTINCT r.site, r.path FROM %I r
        WHERE r.batch_id = ANY ($1)
          AND NOT EXISTS (SELECT 1 FROM page p
                          WHERE p.site = r.site AND p.path = r.path)
        ORDER BY 1, 2
        ON CONFLICT (site, path) DO NOTHING$q$, v_raw)
        USING v_ids;

    -- Step 4: the identity rule, then the pages and days that changed.
    -- Identities not yet staged are inserted plainly, which costs about
    -- half of an upsert; the others go through the upsert, which replaces
    -- a stored row only for a larger (batch_id, ord). If another stager
    -- inserts one of "our" new identities between our read and our insert,
    -- the plain insert fails with unique_violation and the statement is
    -- redone as an upsert of every row.
    SELECT string_agg(quote_ident(c), ', '),
           string_agg('EXCLUDED.' || quote_ident(c), ', ')
        INTO v_list, v_excl FROM unnest(v_cols) AS c;
    BEGIN
        EXECUTE mf__stage_sql(v_raw, v_staged, v_list, v_excl, true)
            USING v_ids;
    EXCEPTION WHEN unique_violation THEN
        EXECUTE mf__stage_sql(v_raw, v_staged, v_list, v_excl, false)
            USING v_ids;
    END;

    RETURN cardinality(v_ids);
END
$fn$;

-- mf__stage_sql(raw, staged, cols, excluded_cols, split): the staging
-- statement for the batches in $1. With split, identities not yet staged
-- are inserted without ON CONFLICT (fails with unique_violation if another
-- transaction inserts one meanwhile); without, every row is upserted.
CREATE OR REPLACE FUNCTION mf__stage_sql(p_raw text, p_staged text,
                                         p_list text, p_excl text,
                                         p_split boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        WITH src AS MATERIALIZED (
            SELECT DISTINCT ON (p.page_id, r.ts)
                   p.page_id, r.ts, r.batch_id, r.ord, %1$s
            FROM %2$I r JOIN page p ON p.site = r.site AND p.path = r.path
            WHERE r.batch_id = ANY ($1)
            ORDER BY p.page_id, r.ts, r.batch_id DESC, r.ord DESC),
        old AS MATERIALIZED (
            SELECT o.* FROM src CROSS JOIN LATERAL (
                SELECT o.page_id, o.ts, o.batch_id, o.ord FROM %3$I o
                WHERE o.page_id = src.page_id AND o.ts = src.ts
                OFFSET 0) o
            WHERE %5$s),
        ins AS (
            INSERT INTO %3$I (page_id, ts, batch_id, ord, %1$s)
            SELECT * FROM src
            WHERE %5$s AND NOT EXISTS (
                SELECT 1 FROM old
                WHERE old.page_id = src.page_id AND old.ts = src.ts)
            ORDER BY page_id, ts
            RETURNING page_id, ts),
        up AS (
            INSERT INTO %3$I AS s (page_id, ts, batch_id, ord, %1$s)
            SELECT src.* FROM src %6$s
            ORDER BY page_id, ts
            ON CONFLICT (page_id, ts) DO UPDATE
                SET (batch_id, ord, %1$s) =
                    (EXCLUDED.batch_id, EXCLUDED.ord, %4$s)
                WHERE (s.batch_id, s.ord) < (EXCLUDED.batch_id, EXCLUDED.ord)
            RETURNING s.page_id, s.ts)
        INSERT INTO pending_page (page_id, day)
        SELECT DISTINCT page_id, (ts AT TIME ZONE 'UTC')::date
        FROM (SELECT * FROM ins UNION ALL SELECT * FROM up) x$q$,
        p_list, p_raw, p_staged, p_excl, p_split::text,
        CASE WHEN p_split THEN
            'JOIN old ON old.page_id = src.page_id AND old.ts = src.ts '
            'WHERE (old.batch_id, old.ord) < (src.batch_id, src.ord)'
        ELSE '' END)
$fn$;
