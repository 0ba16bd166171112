-- kitlog schema version 2: no index on participant codes.
--
-- The index on (fiscal_year, code) only served the report's "first contact of each
-- participant in their year", which a scan of the contacts answers just as well (the
-- report reads them all anyway). Codes are random, so every coded contact was an
-- insert at a random place in that index: about a third of the cost of a large import.
-- One copy fewer of every code on disk, too.
DROP INDEX IF EXISTS contact_code;
