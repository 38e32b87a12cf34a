-- Loads raw batches :first..:last straight into the ingest tables, as the
-- ingest daemon would, with their pending_batch rows: deterministic data
-- over 30 pages and about 60 days (January to March 2026), in which later
-- batches repeat and correct earlier records (same page and timestamp) and
-- a batch may hold the same record twice. Run with
--   psql -v first=N -v last=M -f worker_load.sql
-- Batch ids are fixed (OVERRIDING SYSTEM VALUE), so two databases loaded
-- with the same ranges hold the same data.
BEGIN;
INSERT INTO ingest_batch (batch_id, kind, stream, first_ord, accepted)
OVERRIDING SYSTEM VALUE
SELECT b * 2 + k, CASE k WHEN 0 THEN 'ga' ELSE 'psi' END, 'load-' || b, 1, 300
FROM generate_series(:first, :last) b, generate_series(0, 1) k;

INSERT INTO raw_ga (batch_id, ord, site, path, ts, users, sessions, views,
                    bounces, duration_s)
SELECT b * 2, g, 'site' || (g % 3) || '.example', '/p' || ((g * 7) % 10),
       timestamptz '2026-01-01 00:00:00+00'
         + ((g * 37 + b * 13) % 1440) * interval '1 hour'
         + ((g % 4) * 15) * interval '1 minute',
       1 + (g * b) % 50, 1 + (g * b) % 40, 2 + (g * 3 + b) % 90,
       (g + b) % 20, ((g * 11 + b * 5) % 5000) / 10.0
FROM generate_series(:first, :last) b, generate_series(1, 300) g;

INSERT INTO raw_psi (batch_id, ord, site, path, ts, performance_score, lcp_ms,
                     cls, inp_ms, fcp_ms, ttfb_ms)
SELECT b * 2 + 1, g, 'site' || (g % 3) || '.example', '/p' || ((g * 3) % 10),
       timestamptz '2026-01-01 00:00:00+00'
         + ((g * 41 + b * 7) % 1440) * interval '1 hour',
       ((g * b) % 100) / 100.0, 800 + (g * 13 + b) % 4000,
       CASE WHEN g % 5 = 0 THEN NULL ELSE ((g + b) % 50) / 100.0 END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 50 + (g * b) % 400 END,
       500 + (g * 17) % 2000, 100 + (g * b * 3) % 900
FROM generate_series(:first, :last) b, generate_series(1, 300) g;

INSERT INTO pending_batch (stage, batch_id)
SELECT CASE k WHEN 0 THEN 'stage-ga' ELSE 'stage-psi' END, b * 2 + k
FROM generate_series(:first, :last) b, generate_series(0, 1) k;
COMMIT;
