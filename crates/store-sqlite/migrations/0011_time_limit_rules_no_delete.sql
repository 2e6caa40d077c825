-- Rule versions were protected from UPDATE only: a DELETE went through on SQLite
-- (PostgreSQL refused both). Found by the conformance suite running one test on both.
CREATE TRIGGER time_limit_rules_no_delete BEFORE DELETE ON time_limit_rules
BEGIN SELECT RAISE(ABORT, 'rule versions are immutable'); END;
