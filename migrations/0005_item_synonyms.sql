-- Schema 5: a program's own words for its items on shift lines (`narcan` for
-- naloxone-nasal), beside each item's short alias. Catalogue words only: 5 to 24
-- lowercase letters or dashes, checked by kitlog before they reach here.
CREATE TABLE item_synonym (
    word    TEXT PRIMARY KEY CHECK (length(word) BETWEEN 5 AND 24),
    item_id INTEGER NOT NULL REFERENCES item (id)
) STRICT;
