-- Provisional (暂定) deadlines: counted on weekends only because the State
-- Council holiday notice of their year was not loaded yet; recounted when it is.
ALTER TABLE requests ADD COLUMN deadlines_provisional BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX requests_provisional ON requests (deadlines_provisional) WHERE deadlines_provisional;
