-- Throttle counts are not records: losing them in a crash only restarts the current windows (an
-- hour at most). Unlogged, their upserts write no WAL and a transaction that touches only them
-- commits without waiting for a WAL flush, so the two small writes of every public progress
-- look-up (the attempt reserved, then given back for a right check code) no longer cost two
-- durable commits. Not copied to a standby either: after a fail-over the windows start afresh.
ALTER TABLE rate_limits SET UNLOGGED;
