-- kitlog schema version 3: the release ledger.
--
-- Every report at or above the program's threshold is now a release: recorded, and
-- decided against every earlier one. A period's cube is decided once and frozen
-- (decided_period, decided_cell); voids are numbered so that a frozen period can be
-- recounted as it was (void_seq). Voids made before this version predate every
-- release, so they all take number 1.
ALTER TABLE batch ADD COLUMN void_seq INTEGER CHECK (void_seq IS NULL OR void_seq >= 1);
ALTER TABLE contact ADD COLUMN void_seq INTEGER CHECK (void_seq IS NULL OR void_seq >= 1);
UPDATE batch SET void_seq = 1 WHERE voided_reason IS NOT NULL;
UPDATE contact SET void_seq = 1 WHERE voided_reason IS NOT NULL;

-- Every period a release has been decided for: its whole cube (every site and the ALL
-- row, every item, category and ALL), counted once and frozen, with what is hidden.
-- A period is decided at its first release, or when a coarser period holding it is,
-- and every later report prints these same numbers, so no two releases can be
-- subtracted to single out what changed. Aggregates only.
CREATE TABLE decided_period (
    id           INTEGER PRIMARY KEY,
    period_kind  TEXT NOT NULL CHECK (period_kind IN ('week', 'month', 'quarter', 'fiscal-year')),
    period_label TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end   TEXT NOT NULL,
    -- The threshold it was decided at.
    min_cell     INTEGER NOT NULL CHECK (min_cell >= 1),
    -- The data it was counted from: batches up to this id, voids up to this number.
    batch_high   INTEGER NOT NULL CHECK (batch_high >= 0),
    void_high    INTEGER NOT NULL CHECK (void_high >= 0),
    decided_on   TEXT NOT NULL,
    UNIQUE (period_kind, period_start)
) STRICT;

CREATE TABLE decided_cell (
    period_id            INTEGER NOT NULL REFERENCES decided_period (id),
    site                 TEXT NOT NULL,
    item_level           TEXT NOT NULL CHECK (item_level IN ('item', 'category', 'all')),
    item                 TEXT NOT NULL,
    -- Bit i set: the i-th measure (in report column order) is hidden.
    hidden               INTEGER NOT NULL CHECK (hidden BETWEEN 0 AND 65535),
    contacts             INTEGER NOT NULL,
    participants         INTEGER NOT NULL,
    new_participants     INTEGER NOT NULL,
    anonymous_contacts   INTEGER NOT NULL,
    quantity             INTEGER NOT NULL,
    reversals            INTEGER NOT NULL,
    returned             INTEGER NOT NULL,
    for_others           INTEGER NOT NULL,
    naloxone_first       INTEGER NOT NULL,
    naloxone_used        INTEGER NOT NULL,
    naloxone_lost        INTEGER NOT NULL,
    naloxone_stolen      INTEGER NOT NULL,
    naloxone_confiscated INTEGER NOT NULL,
    naloxone_expired     INTEGER NOT NULL,
    naloxone_other       INTEGER NOT NULL,
    naloxone_unrecorded  INTEGER NOT NULL,
    PRIMARY KEY (period_id, site, item_level, item)
) STRICT, WITHOUT ROWID;

-- The ledger: every report printed or written at or above the program's threshold,
-- exactly as it left kitlog. Aggregates only.
CREATE TABLE release (
    id           INTEGER PRIMARY KEY,
    made_on      TEXT NOT NULL,
    period_kind  TEXT NOT NULL CHECK (period_kind IN ('week', 'month', 'quarter', 'fiscal-year')),
    -- Labels of the first and last period in it; NULL when it has none.
    first_period TEXT,
    last_period  TEXT,
    breakdown    TEXT NOT NULL,
    -- Who it went to (`--for`): a short name from the coordinator, never a person's.
    recipient    TEXT CHECK (recipient IS NULL OR length(recipient) BETWEEN 1 AND 40),
    min_cell     INTEGER NOT NULL CHECK (min_cell >= 1),
    row_count    INTEGER NOT NULL CHECK (row_count >= 0),
    hidden_cells INTEGER NOT NULL CHECK (hidden_cells >= 0),
    -- The CSV file, byte for byte.
    content      BLOB NOT NULL
) STRICT;

