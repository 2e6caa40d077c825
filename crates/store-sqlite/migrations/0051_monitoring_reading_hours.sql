-- The hourly rollup of readings (小时汇总): the count, sum, min and max of the values of each (point, parameter,
-- command, hour),
-- kept in the transaction that inserts the readings, so a year's hourly or daily aggregates read ~8,760 rows
-- instead of scanning every minute reading. `hour` is the stored data time's first 13 characters
-- (`2026-12-04T09`, +08:00). Filled here from the readings already stored.
CREATE TABLE monitoring_reading_hours (
    point_id   INTEGER NOT NULL REFERENCES monitoring_points(id),
    parameter  TEXT NOT NULL,
    cn         INTEGER NOT NULL CHECK (cn IN (2011, 2051, 2061, 2031)),
    hour       TEXT NOT NULL,
    readings   INTEGER NOT NULL CHECK (readings > 0),
    value_sum  REAL NOT NULL,
    min_value  REAL NOT NULL,
    max_value  REAL NOT NULL,
    PRIMARY KEY (point_id, parameter, cn, hour)
) WITHOUT ROWID;

INSERT INTO monitoring_reading_hours (point_id, parameter, cn, hour, readings, value_sum, min_value, max_value)
SELECT point_id, parameter, cn, substr(data_time, 1, 13), COUNT(*), SUM(value), MIN(value), MAX(value)
FROM monitoring_readings
GROUP BY point_id, parameter, cn, substr(data_time, 1, 13);
