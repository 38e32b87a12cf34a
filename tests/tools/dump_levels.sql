-- Dumps the staged level and every aggregate level in the canonical form
-- that tests/tools/pipeline_ref.py compare reads: level, site, path, key,
-- then the values / measures, tab-separated, NULL as \N.
\set ON_ERROR_STOP 1
SET TimeZone = 'UTC';
COPY (SELECT 'staged', 'ga', p.site, p.path, to_char(s.ts, 'YYYY-MM-DD HH24:MI:SS.US"+00"'),
             users, sessions, views, bounces, duration_s
      FROM staged_ga s JOIN page p USING (page_id)) TO STDOUT;
COPY (SELECT 'staged', 'psi', p.site, p.path, to_char(s.ts, 'YYYY-MM-DD HH24:MI:SS.US"+00"'),
             performance_score, lcp_ms, cls, inp_ms, fcp_ms, ttfb_ms
      FROM staged_psi s JOIN page p USING (page_id)) TO STDOUT;
SELECT 'users, sessions, views, bounces, duration_s, psi_samples, '
       || string_agg(m || '_n, ' || m || '_sum, ' || m || '_min, ' || m || '_max', ', ')
       AS cols
FROM unnest(ARRAY['performance_score', 'lcp_ms', 'cls', 'inp_ms', 'fcp_ms', 'ttfb_ms']) m \gset
COPY (SELECT 'hour', p.site, p.path, to_char(a.hour, 'YYYY-MM-DD"T"HH24'), :cols
      FROM agg_hour a JOIN page p USING (page_id)) TO STDOUT;
COPY (SELECT 'interval', p.site, p.path, a.day || '/' || a.interval, :cols
      FROM agg_interval a JOIN page p USING (page_id)) TO STDOUT;
COPY (SELECT 'day', p.site, p.path, a.day::text, :cols
      FROM agg_day a JOIN page p USING (page_id)) TO STDOUT;
COPY (SELECT 'month', p.site, p.path, to_char(a.month, 'YYYY-MM'), :cols
      FROM agg_month a JOIN page p USING (page_id)) TO STDOUT;
COPY (SELECT 'year', p.site, p.path, a.year::text, :cols
      FROM agg_year a JOIN page p USING (page_id)) TO STDOUT;
