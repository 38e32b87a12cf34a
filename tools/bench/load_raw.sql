-- Loads synthetic raw rows as the ingest would: :pages pages, hour-major
-- (every page for hour 1, then hour 2, ...), :n records of each kind in
-- batches of :bsize, each batch with its ingest_batch and pending_batch row.
-- psql variables: pages, n, bsize, start (timestamptz text).
\set ON_ERROR_STOP 1
SELECT coalesce(max(batch_id), 0) AS b0 FROM ingest_batch \gset
SELECT (:n + :bsize - 1) / :bsize AS nb \gset
INSERT INTO ingest_batch (kind, stream, first_ord, accepted)
SELECT k, 'bench-' || k, (b - 1) * :bsize + 1, :bsize
FROM unnest(ARRAY['ga', 'psi']) k, generate_series(1, :nb) b
ORDER BY k, b;
-- ga batches are b0+1 .. b0+nb, psi batches b0+nb+1 .. b0+2nb
INSERT INTO raw_ga
SELECT :b0 + i / :bsize + 1, i + 1, 'site' || (i % :pages % 3), '/p/' || (i % :pages),
       timestamptz :'start' + (i / :pages) * interval '1 hour',
       10 + i % 7, 12 + i % 5, 30 + i % 11, i % 5, (i % 1000) / 4.0
FROM generate_series(0, :n - 1) i;
INSERT INTO raw_psi
SELECT :b0 + :nb + i / :bsize + 1, i + 1, 'site' || (i % :pages % 3), '/p/' || (i % :pages),
       timestamptz :'start' + (i / :pages) * interval '1 hour',
       50 + i % 50, 1000 + i % 3000, CASE WHEN i % 3 = 0 THEN (i % 100) / 100.0 END,
       CASE WHEN i % 2 = 0 THEN 100 + i % 400 END, 800 + i % 900, NULL
FROM generate_series(0, :n - 1) i;
INSERT INTO pending_batch (stage, batch_id)
SELECT CASE WHEN b <= :b0 + :nb THEN 'stage-ga' ELSE 'stage-psi' END, b
FROM generate_series(:b0 + 1, :b0 + 2 * :nb) b;
