-- 0003_pipeline: the work queues of the stages above staging and their
-- bookkeeping. See docs/ARCHITECTURE.md, "The pipeline", for the protocol.
--
-- A pending row says "the stored aggregate of this key may be out of date".
-- The queues are append-only logs without a unique key: a writer of a level
-- marks the next stage's keys with a plain INSERT and never waits for
-- anybody; a key may be marked several times. A stage claims keys by
-- row-locking the claim_bucket rows of their pages (FOR UPDATE SKIP LOCKED:
-- one claimer per page bucket and stage at a time) and deleting the pending
-- rows of those keys that its snapshot sees; it recomputes them in a later
-- statement of the same transaction. created_at orders claims, first in,
-- first out. See docs/ARCHITECTURE.md, "The pipeline", for why this is
-- correct with any number of workers.
--
-- Granularity: the page, interval and daily stages all work per
-- (page, day): a claimed page-day recomputes its 24 hours, its 6 intervals
-- or its day. This keeps the queues 24 times smaller than per-hour keys
-- during bulk loads, at the price of recomputing a few neighbouring rows
-- when one late record arrives.

CREATE TABLE pending_page (
    page_id     bigint NOT NULL,
    day         date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_page_key ON pending_page (page_id, day);
CREATE INDEX pending_page_fifo ON pending_page (created_at);

CREATE TABLE pending_interval (
    page_id     bigint NOT NULL,
    day         date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_interval_key ON pending_interval (page_id, day);
CREATE INDEX pending_interval_fifo ON pending_interval (created_at);

CREATE TABLE pending_daily (
    page_id     bigint NOT NULL,
    day         date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_daily_key ON pending_daily (page_id, day);
CREATE INDEX pending_daily_fifo ON pending_daily (created_at);

-- month is the first day of the month.
CREATE TABLE pending_monthly (
    page_id     bigint NOT NULL,
    month       date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_monthly_key ON pending_monthly (page_id, month);
CREATE INDEX pending_monthly_fifo ON pending_monthly (created_at);

CREATE TABLE pending_yearly (
    page_id     bigint NOT NULL,
    year        integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_yearly_key ON pending_yearly (page_id, year);
CREATE INDEX pending_yearly_fifo ON pending_yearly (created_at);

-- Ownership of keys while a run recomputes them: a run holds the row lock
-- of (stage, page_id % 4096) for every page it claimed keys of, until it
-- commits. Row locks live in the rows, not in the shared lock table, so a
-- run may hold thousands.
CREATE TABLE claim_bucket (
    stage   text NOT NULL,
    bucket  integer NOT NULL,
    PRIMARY KEY (stage, bucket)
);
INSERT INTO claim_bucket
SELECT s, b FROM unnest(ARRAY['page', 'interval', 'daily', 'monthly',
                              'yearly']) s,
                 generate_series(0, 4095) b;

-- The staging stages claim from pending_batch (0001_core) in batch order.
CREATE INDEX pending_batch_fifo ON pending_batch (stage, batch_id);

-- Queues churn: every row is inserted once and deleted once. Vacuum them
-- often so that claims do not walk over dead index entries.
ALTER TABLE pending_batch SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_page SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_interval SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_daily SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_monthly SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_yearly SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);

-- One row per stage: when it last ran and how much it has done. Updated as
-- the last step of every mf_stage_run call, so the row lock is held only
-- until the caller commits.
CREATE TABLE stage_state (
    stage           text PRIMARY KEY CHECK (stage IN ('stage-ga', 'stage-psi',
                        'page', 'interval', 'daily', 'monthly', 'yearly')),
    ord             smallint NOT NULL UNIQUE,   -- position in the chain
    last_run_at     timestamptz,                -- any call, even idle
    last_work_at    timestamptz,                -- last call that did work
    last_units      integer NOT NULL DEFAULT 0,
    runs            bigint NOT NULL DEFAULT 0,  -- calls that did work
    units           bigint NOT NULL DEFAULT 0,  -- units processed in total
    busy_ms         double precision NOT NULL DEFAULT 0 -- time in those calls
) WITH (fillfactor = 50);
INSERT INTO stage_state (stage, ord) VALUES
    ('stage-ga', 1), ('stage-psi', 2), ('page', 3), ('interval', 4),
    ('daily', 5), ('monthly', 6), ('yearly', 7);

-- page.data_version takes a fresh value of this sequence whenever the
-- page's day, month or year aggregates change.
CREATE SEQUENCE page_data_version_seq;

-- Pages are read on every staging run and updated (data_version) by the
-- day, month and year stages: leave room for HOT updates.
ALTER TABLE page SET (fillfactor = 70);
-- Corrections update staged rows in place; late data updates aggregates.
ALTER TABLE staged_ga SET (fillfactor = 90);
ALTER TABLE staged_psi SET (fillfactor = 90);
