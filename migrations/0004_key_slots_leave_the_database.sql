-- Schema 4: the program file is encrypted (SQLCipher) with a key that comes from the
-- program key, so the key slots that seal the program key must be readable before it
-- opens. They move to the key file beside the program (`<program>.keys`), written by
-- kitlog when it converts the file; the table goes.
DROP TABLE key_slot;
