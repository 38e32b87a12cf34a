-- floor.sql: runs the statement :sql once per key of :keys (a text array
-- literal), passing the key as $1, between a step's begin and end lines.
\ir floor_step_begin.sql
SELECT set_config('floor.sql', :'sql', false) AS ignore,
       set_config('floor.keys', :'keys', false) AS ignore2 \gset
DO $$
DECLARE k text;
BEGIN
    FOREACH k IN ARRAY current_setting('floor.keys')::text[] LOOP
        EXECUTE current_setting('floor.sql') USING k;
    END LOOP;
END $$;
\ir floor_step_end.sql
