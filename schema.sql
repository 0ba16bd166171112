-- kitlog program database: the current schema, the one source of truth.
--
-- Applied whole to a new database by `kitlog init`; an older database is brought
-- here by the append-only scripts in migrations/. Every column is listed in the
-- README's privacy model: nothing here may hold a name, a date of birth, an
-- address, a phone number, free text, or the raw text typed to make a code.
-- Dates are calendar days (TEXT, YYYY-MM-DD); there is no time of day anywhere.

-- The whole file is encrypted with SQLCipher under a key derived from the program key;
-- the program key itself is sealed once per passphrase in the key file beside it
-- (`<program>.keys`), never here.

-- One row: the program's settings and the check value of its program key.
CREATE TABLE program (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    fiscal_year_start INTEGER NOT NULL CHECK (fiscal_year_start BETWEEN 1 AND 12),
    min_cell          INTEGER NOT NULL CHECK (min_cell >= 1),
    -- Optional mask for normalised code input (A = letter, 9 = digit, * = either).
    code_format       TEXT CHECK (code_format IS NULL OR length(code_format) BETWEEN 1 AND 64),
    -- HMAC-SHA256(program key, "kitlog key check"): proves an unwrapped key is this program's.
    key_check         BLOB NOT NULL CHECK (length(key_check) = 32),
    created_on        TEXT NOT NULL
) STRICT;

-- The code key of each fiscal year a key rotation carried over from the old program key
-- (`kitlog passphrase remove --rotate`), so that the year's codes stay the same; later
-- years take their keys from the new program key. Erased when the year is closed.
CREATE TABLE carried_epoch_key (
    fiscal_year INTEGER PRIMARY KEY,
    key         BLOB NOT NULL CHECK (length(key) = 32)
) STRICT;

-- The coordinator's list of worker labels (initials or a role, never a name):
-- `kitlog shift` and `import --worker` take a label from it and nothing else.
CREATE TABLE worker (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 8)
) STRICT;

-- Places and outreach routes. Retired, never deleted while referenced.
CREATE TABLE site (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    retired_on TEXT
) STRICT;

-- Supplies handed out.
CREATE TABLE item (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    category   TEXT NOT NULL CHECK (category IN ('injection', 'smoking', 'naloxone', 'testing', 'other')),
    unit       TEXT NOT NULL,
    retired_on TEXT,
    -- Short name for `kitlog shift` lines (`ik2` = two injection kits): 1 to 4 letters.
    alias      TEXT CHECK (alias IS NULL OR length(alias) BETWEEN 1 AND 4)
) STRICT;

CREATE UNIQUE INDEX item_alias ON item (alias) WHERE alias IS NOT NULL;

-- A program's own words for its items on shift lines (`narcan` for naloxone-nasal),
-- beside the short alias: 5 to 24 lowercase letters or dashes.
CREATE TABLE item_synonym (
    word    TEXT PRIMARY KEY CHECK (length(word) BETWEEN 5 AND 24),
    item_id INTEGER NOT NULL REFERENCES item (id)
) STRICT;

-- Everything saved in one go: one import or one shift.
CREATE TABLE batch (
    id            INTEGER PRIMARY KEY,
    saved_on      TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('import', 'shift')),
    worker        TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 8),
    -- Keyed digest of the sheet's parsed content, so the same sheet is not imported twice.
    sheet_digest  BLOB CHECK (sheet_digest IS NULL OR length(sheet_digest) = 32),
    voided_reason TEXT CHECK (voided_reason IN ('entry-error', 'duplicate', 'test')),
    voided_on     TEXT,
    -- The order of voids across the program (batches and contacts), so that a period
    -- already reported can be counted as it was then: a later void is held back from it.
    void_seq      INTEGER CHECK (void_seq IS NULL OR void_seq >= 1)
) STRICT;

CREATE INDEX batch_sheet_digest ON batch (sheet_digest) WHERE sheet_digest IS NOT NULL;

-- One interaction. `code` is the truncated HMAC of the participant's code input under
-- the key of `fiscal_year`; NULL for an anonymous contact.
CREATE TABLE contact (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES batch (id),
    position        INTEGER NOT NULL CHECK (position >= 1),
    day             TEXT NOT NULL,
    fiscal_year     INTEGER NOT NULL,
    site_id         INTEGER NOT NULL REFERENCES site (id),
    code            BLOB CHECK (code IS NULL OR length(code) = 16),
    reversals       INTEGER NOT NULL DEFAULT 0 CHECK (reversals >= 0),
    for_others      INTEGER NOT NULL DEFAULT 0 CHECK (for_others >= 0),
    returned        INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0),
    naloxone_reason TEXT CHECK (naloxone_reason IN ('first', 'used', 'lost', 'stolen', 'confiscated', 'expired', 'other')),
    voided_reason   TEXT CHECK (voided_reason IN ('entry-error', 'duplicate', 'test')),
    voided_on       TEXT,
    -- See batch.void_seq.
    void_seq        INTEGER CHECK (void_seq IS NULL OR void_seq >= 1),
    UNIQUE (batch_id, position)
) STRICT;

CREATE INDEX contact_day ON contact (day);

-- What one contact received.
CREATE TABLE contact_item (
    contact_id INTEGER NOT NULL REFERENCES contact (id),
    item_id    INTEGER NOT NULL REFERENCES item (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (contact_id, item_id)
) STRICT, WITHOUT ROWID;

-- A shift being typed at `kitlog shift`, kept line by line so a crash or a dead
-- battery loses nothing. Codes are already salted. Never read by reports; moved
-- into batch/contact when the worker confirms, and erased when discarded.
CREATE TABLE shift_draft (
    id         INTEGER PRIMARY KEY,
    day        TEXT NOT NULL,
    site_id    INTEGER NOT NULL REFERENCES site (id),
    worker     TEXT CHECK (worker IS NULL OR length(worker) BETWEEN 1 AND 8),
    started_on TEXT NOT NULL
) STRICT;

CREATE TABLE shift_draft_contact (
    draft_id        INTEGER NOT NULL REFERENCES shift_draft (id),
    position        INTEGER NOT NULL CHECK (position >= 1),
    fiscal_year     INTEGER NOT NULL,
    code            BLOB CHECK (code IS NULL OR length(code) = 16),
    reversals       INTEGER NOT NULL DEFAULT 0 CHECK (reversals >= 0),
    for_others      INTEGER NOT NULL DEFAULT 0 CHECK (for_others >= 0),
    returned        INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0),
    naloxone_reason TEXT CHECK (naloxone_reason IN ('first', 'used', 'lost', 'stolen', 'confiscated', 'expired', 'other')),
    PRIMARY KEY (draft_id, position)
) STRICT;

CREATE TABLE shift_draft_item (
    draft_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    item_id  INTEGER NOT NULL REFERENCES item (id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (draft_id, position, item_id),
    FOREIGN KEY (draft_id, position) REFERENCES shift_draft_contact (draft_id, position)
) STRICT, WITHOUT ROWID;

-- Fiscal years closed with `kitlog close-year`: their participant codes are erased,
-- and their reports come from closed_cell from then on.
CREATE TABLE closed_year (
    fiscal_year INTEGER PRIMARY KEY,
    closed_on   TEXT NOT NULL
) STRICT;

-- The report cube of a closed year, unsuppressed, as computed just before its codes
-- were erased: one row per period kind, period, site (or ALL) and item, category or
-- ALL. Only aggregates; suppression is applied when a report is printed, together
-- with the live data, exactly as before the year was closed.
CREATE TABLE closed_cell (
    fiscal_year          INTEGER NOT NULL REFERENCES closed_year (fiscal_year),
    period_kind          TEXT NOT NULL CHECK (period_kind IN ('week', 'month', 'quarter', 'fiscal-year')),
    item_level           TEXT NOT NULL CHECK (item_level IN ('item', 'category', 'all')),
    period_label         TEXT NOT NULL,
    period_start         TEXT NOT NULL,
    period_end           TEXT NOT NULL,
    site                 TEXT NOT NULL,
    item                 TEXT NOT NULL,
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
    PRIMARY KEY (fiscal_year, period_kind, period_start, site, item_level, item)
) STRICT;

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

-- This laptop's own place in the program; no row while the program lives on one
-- laptop only.
CREATE TABLE this_device (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    device             BLOB NOT NULL CHECK (length(device) = 16),
    role               TEXT NOT NULL CHECK (role IN ('coordinator', 'worker')),
    -- Its Ed25519 signing key (PKCS#8), inside the encrypted file only.
    signing_key        BLOB NOT NULL,
    -- Number of the last bundle it wrote (0: none yet).
    last_sent          INTEGER NOT NULL DEFAULT 0 CHECK (last_sent >= 0),
    -- Worker: what the coordinator acknowledged and this laptop then erased.
    forwarded_batches  INTEGER NOT NULL DEFAULT 0 CHECK (forwarded_batches >= 0),
    forwarded_contacts INTEGER NOT NULL DEFAULT 0 CHECK (forwarded_contacts >= 0)
) STRICT;

-- The program's laptops as the coordinator enrolled them, with the public key their
-- bundles are checked against.
CREATE TABLE device (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    label       TEXT NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 24),
    role        TEXT NOT NULL CHECK (role IN ('coordinator', 'worker')),
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    enrolled_on TEXT NOT NULL,
    revoked_on  TEXT
) STRICT;

-- Each batch's identity across devices: 16 random bytes made when it was saved.
CREATE TABLE batch_origin (
    batch_id       INTEGER PRIMARY KEY REFERENCES batch (id),
    uid            BLOB NOT NULL UNIQUE CHECK (length(uid) = 16),
    -- The device that saved it; NULL: this one.
    device         BLOB CHECK (device IS NULL OR length(device) = 16),
    -- Its number on the device that saved it (received batches), so a worker's "my
    -- batch 3" can be found at the coordinator.
    number         INTEGER CHECK (number IS NULL OR number >= 1),
    -- Keyed digest of its content as first received, so that one id arriving again
    -- with other content is noticed.
    content_digest BLOB CHECK (content_digest IS NULL OR length(content_digest) = 32)
) STRICT;

-- Voids as facts that travel: never updated, no foreign key (a void may arrive before
-- its batch). The earliest (voided_on, uid) of a target is the one that counts; the
-- voided_* columns of batch and contact hold it for the reports.
CREATE TABLE void_event (
    uid       BLOB PRIMARY KEY CHECK (length(uid) = 16),
    batch_uid BLOB NOT NULL CHECK (length(batch_uid) = 16),
    -- The contact's position; NULL voids the whole batch.
    position  INTEGER CHECK (position IS NULL OR position >= 1),
    reason    TEXT NOT NULL CHECK (reason IN ('entry-error', 'duplicate', 'test')),
    voided_on TEXT NOT NULL,
    -- The device that voided it; NULL: this one.
    device    BLOB CHECK (device IS NULL OR length(device) = 16)
) STRICT, WITHOUT ROWID;

CREATE INDEX void_event_batch ON void_event (batch_uid);

-- Bundles merged here, per sending device: number, SHA-256 of the file (the same
-- number with other bytes is a laptop restored from a backup, or one enrolment file
-- joined twice: merged, and flagged), the day it was made and the day it was merged.
CREATE TABLE received (
    device      BLOB NOT NULL CHECK (length(device) = 16),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    digest      BLOB NOT NULL CHECK (length(digest) = 32),
    made_on     TEXT NOT NULL,
    received_on TEXT NOT NULL,
    PRIMARY KEY (device, seq, digest)
) STRICT, WITHOUT ROWID;

-- Worker: its batches and voids the coordinator has (by uid), or refused (a batch of a
-- year closed before it arrived); their contacts are erased here.
CREATE TABLE acknowledged (
    uid     BLOB PRIMARY KEY CHECK (length(uid) = 16),
    refused INTEGER NOT NULL DEFAULT 0 CHECK (refused IN (0, 1))
) STRICT, WITHOUT ROWID;

-- What a merge kept but a person should look at (`kitlog sync status`).
CREATE TABLE sync_flag (
    id          INTEGER PRIMARY KEY,
    flagged_on    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('other-content', 'same-sheet', 'item-category', 'closed-year', 'reused-number')),
    -- The sending device.
    device      BLOB CHECK (device IS NULL OR length(device) = 16),
    -- The batch's uid (other-content, same-sheet, closed-year); same-sheet: the other one.
    batch_uid   BLOB CHECK (batch_uid IS NULL OR length(batch_uid) = 16),
    other_uid   BLOB CHECK (other_uid IS NULL OR length(other_uid) = 16),
    -- item-category: the item whose category differs.
    item        TEXT,
    -- closed-year: contacts refused.
    contacts    INTEGER CHECK (contacts IS NULL OR contacts >= 0),
    -- reused-number: the bundle number that arrived with other content.
    seq         INTEGER CHECK (seq IS NULL OR seq >= 1)
) STRICT;

PRAGMA user_version = 6;
