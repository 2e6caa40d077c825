-- Automatic dispatch (自动派单) in scoring: the assignments the platform made itself and the returns
-- (退单) of them, per unit and day/month (mashangban_domain::scoring::Counter::AutoAssigned and
-- AutoReturned). An audit figure, in no composite score. The rollups of earlier events are rebuilt
-- by the first report after the upgrade, which counts the automatic dispatches made before it.

ALTER TABLE score_days ADD COLUMN auto_assigned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_days ADD COLUMN auto_returned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_months ADD COLUMN auto_assigned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_months ADD COLUMN auto_returned INTEGER NOT NULL DEFAULT 0;

INSERT INTO score_meta (key, value) SELECT 'rebuild_needed', 1 WHERE EXISTS (SELECT 1 FROM events)
ON CONFLICT (key) DO UPDATE SET value = 1;
