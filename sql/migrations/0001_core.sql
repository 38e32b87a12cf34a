-- 0001_core: what the ingest writes and the first stages read.
--
-- Raw rows are appended by COPY, one per accepted record, with the page
-- already normalised by the ingest's record parser (records.md: site
-- lower-cased, URL split into site and path, query and fragment dropped,
-- trailing slash removed). Their order of ingestion is (batch_id, ord):
-- batch ids come from a sequence, so a later chunk has a larger id.
-- Counts are bigint (10^12 per record, summed over decades, stays far below
-- 9.2 * 10^18); durations and PSI metrics are numeric, so sums are exact
-- whatever the order of addition.

CREATE TABLE ingest_batch (
    batch_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('ga', 'psi')),
    stream      text NOT NULL,          -- file name or "-" for stdin
    first_ord   bigint NOT NULL,        -- ordinal of the chunk's first record
    accepted    integer NOT NULL DEFAULT 0,
    rejected    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE raw_ga (
    batch_id    bigint NOT NULL,
    ord         bigint NOT NULL,        -- record ordinal within its stream
    site        text NOT NULL,
    path        text NOT NULL,
    ts          timestamptz NOT NULL,
    users       bigint NOT NULL,
    sessions    bigint NOT NULL,
    views       bigint NOT NULL,
    bounces     bigint NOT NULL,
    duration_s  numeric NOT NULL
);
CREATE INDEX raw_ga_batch ON raw_ga USING brin (batch_id);

CREATE TABLE raw_psi (
    batch_id            bigint NOT NULL,
    ord                 bigint NOT NULL,
    site                text NOT NULL,
    path                text NOT NULL,
    ts                  timestamptz NOT NULL,
    performance_score   numeric NOT NULL,
    lcp_ms              numeric NOT NULL,
    cls                 numeric,
    inp_ms              numeric,
    fcp_ms              numeric,
    ttfb_ms             numeric
);
CREATE INDEX raw_psi_batch ON raw_psi USING brin (batch_id);

-- Records that broke a rule of records.md, kept for the operator.
CREATE TABLE rejected_record (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text,                   -- NULL when it could not be told
    stream      text NOT NULL,
    ordinal     bigint NOT NULL,        -- 1-based record number in the stream
    byte_offset bigint NOT NULL,        -- of the record's first byte
    reason      text NOT NULL,
    text        text NOT NULL,          -- first 4 KiB of the record
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_record_stream ON rejected_record (stream, ordinal);

-- Work waiting for the staging stages: one row per committed raw batch,
-- inserted in the same transaction as the batch's rows.
CREATE TABLE pending_batch (
    stage       text NOT NULL CHECK (stage IN ('stage-ga', 'stage-psi')),
    batch_id    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stage, batch_id)
);

-- Users of the API and their refresh tokens.
CREATE TABLE app_user (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL UNIQUE,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refresh_token (
    token_hash  bytea PRIMARY KEY,          -- BLAKE2b-256 of the token
    user_id     bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,              -- all rotations of one login
    parent_hash bytea,                      -- the token this one replaced
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,                -- set when rotated
    revoked_at  timestamptz                 -- set on logout or reuse
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
