-- floor.sql: before a step, its name, the backend's CPU ticks and the WAL
-- position.
\echo step :step
\! awk '{print "cpu", $14 + $15}' /proc/$BPID/stat
SELECT pg_current_wal_lsn() AS wal0 \gset
SELECT clock_timestamp() AS t0 \gset
