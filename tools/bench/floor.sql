-- The floor: every level written from scratch by plain statements, from
-- raw rows that load_raw.sql put there. No claims, queues, identity rule,
-- comparisons or re-reads: what PostgreSQL needs at the least to write the
-- rows the pipeline writes. The big levels go in chunks the size of the
-- stages' claims (8 raw batches; 2 days of every page), each chunk read
-- through the indexes the stages use, so that sorts stay in memory as they
-- do in the pipeline. Driven by tools/bench/floor.sh, which reads the
-- "step", "cpu", "wall" and "wal" lines. One backend, no parallel workers,
-- so the backend's CPU time is the statements'.
\set ON_ERROR_STOP 1
SET jit = off;
SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'UTC';
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
SELECT mf__cols('') AS cols, mf__rollup_cols('s') AS rc \gset
-- chunk keys: every 8th raw batch of each kind, every 2nd day
SELECT array_agg(g)::text AS ga_keys
FROM generate_series((SELECT min(batch_id) FROM raw_ga),
                     (SELECT max(batch_id) FROM raw_ga), 8) g \gset
SELECT array_agg(g)::text AS psi_keys
FROM generate_series((SELECT min(batch_id) FROM raw_psi),
                     (SELECT max(batch_id) FROM raw_psi), 8) g \gset
SELECT array_agg(g::date)::text AS day_keys
FROM generate_series((SELECT min(ts) FROM raw_ga)::date,
                     (SELECT max(ts) FROM raw_ga)::date, interval '2 days') g \gset

\set step pages
\ir floor_step_begin.sql
INSERT INTO page (site, path)
SELECT DISTINCT site, path FROM raw_ga ORDER BY 1, 2
ON CONFLICT DO NOTHING;
INSERT INTO page (site, path)
SELECT DISTINCT site, path FROM raw_psi ORDER BY 1, 2
ON CONFLICT DO NOTHING;
\ir floor_step_end.sql

\set step staged_ga
\set keys :ga_keys
\set sql 'INSERT INTO staged_ga (page_id, ts, batch_id, ord, users, sessions, views, bounces, duration_s) SELECT p.page_id, r.ts, r.batch_id, r.ord, r.users, r.sessions, r.views, r.bounces, r.duration_s FROM raw_ga r JOIN page p ON p.site = r.site AND p.path = r.path WHERE r.batch_id >= $1::bigint AND r.batch_id < $1::bigint + 8 ORDER BY 1, 2'
\ir floor_chunks.sql

\set step staged_psi
\set keys :psi_keys
\set sql 'INSERT INTO staged_psi (page_id, ts, batch_id, ord, performance_score, lcp_ms, cls, inp_ms, fcp_ms, ttfb_ms) SELECT p.page_id, r.ts, r.batch_id, r.ord, r.performance_score, r.lcp_ms, r.cls, r.inp_ms, r.fcp_ms, r.ttfb_ms FROM raw_psi r JOIN page p ON p.site = r.site AND p.path = r.path WHERE r.batch_id >= $1::bigint AND r.batch_id < $1::bigint + 8 ORDER BY 1, 2'
\ir floor_chunks.sql

-- hours: each side aggregated over its rows of the chunk (one index range
-- scan per page), full-joined, inserted in key order
\set step hour
\set keys :day_keys
\set sql 'INSERT INTO agg_hour (page_id, hour, ' :cols ') SELECT coalesce(g.page_id, s.page_id), coalesce(g.hour, s.hour), coalesce(g.users, 0), coalesce(g.sessions, 0), coalesce(g.views, 0), coalesce(g.bounces, 0), coalesce(g.duration_s, 0), coalesce(s.n, 0), coalesce(a1, 0), coalesce(a2, 0), a3, a4, coalesce(b1, 0), coalesce(b2, 0), b3, b4, coalesce(c1, 0), coalesce(c2, 0), c3, c4, coalesce(d1, 0), coalesce(d2, 0), d3, d4, coalesce(e1, 0), coalesce(e2, 0), e3, e4, coalesce(f1, 0), coalesce(f2, 0), f3, f4 FROM (SELECT p.page_id, date_trunc(''hour'', x.ts) AS hour, sum(x.users)::bigint AS users, sum(x.sessions)::bigint AS sessions, sum(x.views)::bigint AS views, sum(x.bounces)::bigint AS bounces, sum(x.duration_s) AS duration_s FROM page p CROSS JOIN LATERAL (SELECT * FROM staged_ga x WHERE x.page_id = p.page_id AND x.ts >= $1::date AND x.ts < $1::date + 2 OFFSET 0) x GROUP BY 1, 2) g FULL JOIN (SELECT p.page_id, date_trunc(''hour'', x.ts) AS hour, count(*) AS n, count(performance_score) a1, sum(performance_score) a2, min(performance_score) a3, max(performance_score) a4, count(lcp_ms) b1, sum(lcp_ms) b2, min(lcp_ms) b3, max(lcp_ms) b4, count(cls) c1, sum(cls) c2, min(cls) c3, max(cls) c4, count(inp_ms) d1, sum(inp_ms) d2, min(inp_ms) d3, max(inp_ms) d4, count(fcp_ms) e1, sum(fcp_ms) e2, min(fcp_ms) e3, max(fcp_ms) e4, count(ttfb_ms) f1, sum(ttfb_ms) f2, min(ttfb_ms) f3, max(ttfb_ms) f4 FROM page p CROSS JOIN LATERAL (SELECT * FROM staged_psi x WHERE x.page_id = p.page_id AND x.ts >= $1::date AND x.ts < $1::date + 2 OFFSET 0) x GROUP BY 1, 2) s ON s.page_id = g.page_id AND s.hour = g.hour ORDER BY 1, 2'
\ir floor_chunks.sql

\set step interval
\set sql 'INSERT INTO agg_interval (page_id, day, interval, ' :cols ') SELECT p.page_id, s.hour::date, (extract(hour FROM s.hour)::int / 4 + 1)::smallint, ' :rc ' FROM page p CROSS JOIN LATERAL (SELECT * FROM agg_hour s WHERE s.page_id = p.page_id AND s.hour >= $1::date AND s.hour < $1::date + 2 OFFSET 0) s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'
\ir floor_chunks.sql

\set step day
\set sql 'INSERT INTO agg_day (page_id, day, ' :cols ') SELECT p.page_id, s.day, ' :rc ' FROM page p CROSS JOIN LATERAL (SELECT * FROM agg_interval s WHERE s.page_id = p.page_id AND s.day >= $1::date AND s.day < $1::date + 2 OFFSET 0) s GROUP BY 1, 2 ORDER BY 1, 2'
\ir floor_chunks.sql

\set step month
\ir floor_step_begin.sql
INSERT INTO agg_month (page_id, month, :cols)
SELECT page_id, date_trunc('month', day)::date, :rc
FROM agg_day s GROUP BY 1, 2;
\ir floor_step_end.sql

\set step year
\ir floor_step_begin.sql
INSERT INTO agg_year (page_id, year, :cols)
SELECT page_id, extract(year FROM month)::integer, :rc
FROM agg_month s GROUP BY 1, 2;
\ir floor_step_end.sql
