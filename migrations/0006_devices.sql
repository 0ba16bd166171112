-- Schema 6: several laptops, one program. Each laptop is a device; records travel
-- between them in sealed, signed bundles (src/sync). Only random ids, bundle
-- numbers, days and public keys are added here: nothing that names a person.

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

INSERT INTO batch_origin (batch_id, uid) SELECT id, randomblob(16) FROM batch;

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

INSERT INTO void_event (uid, batch_uid, position, reason, voided_on)
SELECT randomblob(16), o.uid, NULL, b.voided_reason, b.voided_on
  FROM batch b JOIN batch_origin o ON o.batch_id = b.id WHERE b.voided_reason IS NOT NULL;
INSERT INTO void_event (uid, batch_uid, position, reason, voided_on)
SELECT randomblob(16), o.uid, c.position, c.voided_reason, c.voided_on
  FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id WHERE c.voided_reason IS NOT NULL;

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
