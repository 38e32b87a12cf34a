-- floor.sql: after a step, its wall seconds, the backend's CPU ticks and
-- the WAL it wrote.
SELECT 'wall ' || round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2)
       || E'\nwal ' || pg_wal_lsn_diff(pg_current_wal_lsn(), :'wal0')
       AS line \gset
\echo :line
\! awk '{print "cpu", $14 + $15}' /proc/$BPID/stat
