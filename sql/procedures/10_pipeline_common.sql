-- Helpers shared by the stage procedures: the measure columns of every
-- aggregate level (0002_levels.sql, agg_hour) as SQL text fragments, so the
-- rollup statements are generated from one list instead of being spelled
-- out five times.

-- mf__psi_metrics(): the PSI metrics, in column order.
CREATE OR REPLACE FUNCTION mf__psi_metrics()
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['performance_score', 'lcp_ms', 'cls', 'inp_ms', 'fcp_ms',
                 'ttfb_ms']
$$;

-- mf__measures(): every measure column of an aggregate level, in the
-- column order of agg_hour.
CREATE OR REPLACE FUNCTION mf__measures()
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['users', 'sessions', 'views', 'bounces', 'duration_s',
                 'psi_samples']
        || ARRAY(SELECT m || s
                 FROM unnest(mf__psi_metrics()) WITH ORDINALITY AS a(m, i),
                      unnest(ARRAY['_n', '_sum', '_min', '_max'])
                          WITH ORDINALITY AS b(s, j)
                 ORDER BY i, j)
$$;

-- mf__cols(prefix, sep): the measure columns, each prefixed ("d." or
-- "EXCLUDED."), joined by sep.
CREATE OR REPLACE FUNCTION mf__cols(p_prefix text, p_sep text DEFAULT ', ')
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(p_prefix || quote_ident(c), p_sep ORDER BY i)
    FROM unnest(mf__measures()) WITH ORDINALITY AS t(c, i)
$$;

-- mf__rollup_cols(src): the SELECT list that adds up the measures of the
-- rows of alias src: minima of minima, maxima of maxima, sums of the rest.
-- Sums are cast back to the column's type (bigint sums come back numeric).
CREATE OR REPLACE FUNCTION mf__rollup_cols(p_src text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(
        CASE WHEN c LIKE '%\_min' THEN format('min(%s.%I) AS %I', p_src, c, c)
             WHEN c LIKE '%\_max' THEN format('max(%s.%I) AS %I', p_src, c, c)
             WHEN c LIKE '%\_sum' OR c = 'duration_s'
                 THEN format('sum(%s.%I) AS %I', p_src, c, c)
             ELSE format('sum(%s.%I)::bigint AS %I', p_src, c, c)
        END, ', ' ORDER BY i)
    FROM unnest(mf__measures()) WITH ORDINALITY AS t(c, i)
$$;

-- mf__mark_sql(table, key, type): the statement that marks keys of a queue
-- as pending, from the arrays $1 (page ids) and $2 (keys as text). A plain
-- append: a marker never waits for a claimer or another marker.
CREATE OR REPLACE FUNCTION mf__mark_sql(p_table text, p_key text,
                                        p_keytype text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT format(
        'INSERT INTO %1$I (page_id, %2$I) '
        'SELECT * FROM unnest($1::bigint[], $2::text[]::%3$s[])',
        p_table, p_key, p_keytype)
$$;

-- mf__claim_sql(table, key, stage): the statement that claims up to $1
-- pending keys of a queue and returns them as two arrays sorted by
-- (page_id, key): page ids and keys as text. It looks at the oldest pending
-- rows (2 x $1 of them), row-locks the claim buckets of their pages that no
-- other run holds (FOR UPDATE SKIP LOCKED), keeps up to $1 keys in those
-- buckets, oldest first, and deletes every pending row of those keys that
-- its snapshot sees (duplicates included). Rows a writer commits later stay
-- pending. Returns NULLs when nothing was claimable.
CREATE OR REPLACE FUNCTION mf__claim_sql(p_table text, p_key text,
                                         p_stage text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT format(
        'WITH cand AS MATERIALIZED ('
        '  SELECT page_id, %2$I AS k, created_at,'
        '         (page_id %% 4096)::integer AS b'
        '  FROM %1$I ORDER BY created_at LIMIT 2 * $1),'
        ' got AS MATERIALIZED ('
        '  SELECT bucket FROM claim_bucket'
        '  WHERE stage = %3$L AND bucket IN (SELECT b FROM cand)'
        '  ORDER BY bucket FOR UPDATE SKIP LOCKED),'
        ' keys AS MATERIALIZED ('
        '  SELECT page_id, k FROM cand JOIN got ON got.bucket = cand.b'
        '  GROUP BY page_id, k ORDER BY min(created_at), page_id, k'
        '  LIMIT $1),'
        ' del AS ('
        '  DELETE FROM %1$I p USING keys'
        '  WHERE p.page_id = keys.page_id AND p.%2$I = keys.k'
        '  RETURNING p.page_id)'
        'SELECT array_agg(page_id ORDER BY page_id, k),'
        '       array_agg(k::text ORDER BY page_id, k)'
        'FROM keys WHERE EXISTS (SELECT 1 FROM del)',
        p_table, p_key, p_stage)
$$;

-- mf__bump_versions(pages): gives every page in the array a fresh
-- data_version (the API's range cache keys on it). Locks the page rows in
-- page_id order first, so concurrent bumpers cannot deadlock. Call it as
-- the last write of a stage run (see docs/ARCHITECTURE.md).
CREATE OR REPLACE FUNCTION mf__bump_versions(p_pages bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_pages IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM page WHERE page_id = ANY (p_pages)
        ORDER BY page_id FOR NO KEY UPDATE;
    UPDATE page SET data_version = nextval('page_data_version_seq')
        WHERE page_id = ANY (p_pages);
END
$$;
