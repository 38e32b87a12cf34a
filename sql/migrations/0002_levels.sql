-- 0002_levels: the staged level, the pages dimension and the aggregate
-- levels of pipeline.md. Every aggregate level stores the same additive
-- measures (see the column list of agg_hour), so each level is the exact
-- sum of the level below and every ratio is derived when read.

-- A page is (site, path), normalised. data_version changes whenever an
-- aggregate of the page at the day, month or year level changes: the API's
-- range cache keys on it, so a stale entry becomes unreachable.
CREATE TABLE page (
    page_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site          text NOT NULL,
    path          text NOT NULL,
    data_version  bigint NOT NULL DEFAULT 0,
    UNIQUE (site, path)
);
CREATE INDEX page_site_path ON page (site, path text_pattern_ops);

-- The staged level: one row per identity (kind, page, ts), the record
-- ingested last (largest (batch_id, ord)) wins.
CREATE TABLE staged_ga (
    page_id     bigint NOT NULL,
    ts          timestamptz NOT NULL,
    batch_id    bigint NOT NULL,
    ord         bigint NOT NULL,
    users       bigint NOT NULL,
    sessions    bigint NOT NULL,
    views       bigint NOT NULL,
    bounces     bigint NOT NULL,
    duration_s  numeric NOT NULL,
    PRIMARY KEY (page_id, ts)
);

CREATE TABLE staged_psi (
    page_id             bigint NOT NULL,
    ts                  timestamptz NOT NULL,
    batch_id            bigint NOT NULL,
    ord                 bigint NOT NULL,
    performance_score   numeric NOT NULL,
    lcp_ms              numeric NOT NULL,
    cls                 numeric,
    inp_ms              numeric,
    fcp_ms              numeric,
    ttfb_ms             numeric,
    PRIMARY KEY (page_id, ts)
);

-- The measures, identical at every aggregate level. For each PSI metric m:
-- m_n samples carried it, m_sum their sum, m_min and m_max the extremes
-- (NULL when m_n = 0).
CREATE TABLE agg_hour (
    page_id     bigint NOT NULL,
    hour        timestamptz NOT NULL,
    users       bigint NOT NULL DEFAULT 0,
    sessions    bigint NOT NULL DEFAULT 0,
    views       bigint NOT NULL DEFAULT 0,
    bounces     bigint NOT NULL DEFAULT 0,
    duration_s  numeric NOT NULL DEFAULT 0,
    psi_samples bigint NOT NULL DEFAULT 0,
    performance_score_n bigint NOT NULL DEFAULT 0,
    performance_score_sum numeric NOT NULL DEFAULT 0,
    performance_score_min numeric,
    performance_score_max numeric,
    lcp_ms_n bigint NOT NULL DEFAULT 0,
    lcp_ms_sum numeric NOT NULL DEFAULT 0,
    lcp_ms_min numeric,
    lcp_ms_max numeric,
    cls_n bigint NOT NULL DEFAULT 0,
    cls_sum numeric NOT NULL DEFAULT 0,
    cls_min numeric,
    cls_max numeric,
    inp_ms_n bigint NOT NULL DEFAULT 0,
    inp_ms_sum numeric NOT NULL DEFAULT 0,
    inp_ms_min numeric,
    inp_ms_max numeric,
    fcp_ms_n bigint NOT NULL DEFAULT 0,
    fcp_ms_sum numeric NOT NULL DEFAULT 0,
    fcp_ms_min numeric,
    fcp_ms_max numeric,
    ttfb_ms_n bigint NOT NULL DEFAULT 0,
    ttfb_ms_sum numeric NOT NULL DEFAULT 0,
    ttfb_ms_min numeric,
    ttfb_ms_max numeric,
    PRIMARY KEY (page_id, hour)
);

-- The other levels: the same measures under their own keys.
CREATE TABLE agg_interval (LIKE agg_hour INCLUDING DEFAULTS);
ALTER TABLE agg_interval DROP COLUMN hour,
    ADD COLUMN day date NOT NULL,
    ADD COLUMN interval smallint NOT NULL CHECK (interval BETWEEN 1 AND 6),
    ADD PRIMARY KEY (page_id, day, interval);

CREATE TABLE agg_day (LIKE agg_hour INCLUDING DEFAULTS);
ALTER TABLE agg_day DROP COLUMN hour,
    ADD COLUMN day date NOT NULL,
    ADD PRIMARY KEY (page_id, day);

-- month is the first day of the month.
CREATE TABLE agg_month (LIKE agg_hour INCLUDING DEFAULTS);
ALTER TABLE agg_month DROP COLUMN hour,
    ADD COLUMN month date NOT NULL CHECK (extract(day FROM month) = 1),
    ADD PRIMARY KEY (page_id, month);

CREATE TABLE agg_year (LIKE agg_hour INCLUDING DEFAULTS);
ALTER TABLE agg_year DROP COLUMN hour,
    ADD COLUMN year integer NOT NULL,
    ADD PRIMARY KEY (page_id, year);
