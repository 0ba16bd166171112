-- Schema 4: the program file is encrypted (SQLCipher) with a key that comes from the
-- program key, so the key slots that seal the program key must be readable before it
-- opens. They move to the key file beside the program (`<program>.keys`), written by
-- kitlog when it converts the file; the table goes.
DROP TABLE key_slot;

-- Code keys of fiscal years that a key rotation carried over from the old program key,
-- so codes stay the same across it; inside the encrypted file only.
CREATE TABLE carried_epoch_key (
    fiscal_year INTEGER PRIMARY KEY,
    key         BLOB NOT NULL CHECK (length(key) = 32)
) STRICT;

-- The coordinator's list of worker labels (`kitlog worker add JD`): a shift's worker
-- is chosen from it, so nothing else (a participant's code, say) can be typed there.
CREATE TABLE worker (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 8)
) STRICT;
