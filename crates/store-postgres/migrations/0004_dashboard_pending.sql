-- Dashboard changes written by request transactions as insert-only rows, folded
-- into dash_days / dash_months by mashangban_fold_dashboard() (before every
-- dashboard read and before an export). Upserting the rollup rows directly made
-- every intake hold the day's city-wide row lock until its commit, so intakes on
-- all nodes ran one at a time; appending a row locks nothing another intake needs.

CREATE TABLE dash_pending (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day                 BIGINT NOT NULL,  -- YYYYMMDD in Asia/Shanghai
    dim                 TEXT NOT NULL,
    key                 TEXT COLLATE "C" NOT NULL,
    received            BIGINT NOT NULL DEFAULT 0,
    closed              BIGINT NOT NULL DEFAULT 0,
    closed_with_due     BIGINT NOT NULL DEFAULT 0,
    closed_on_time      BIGINT NOT NULL DEFAULT 0,
    very_satisfied      BIGINT NOT NULL DEFAULT 0,
    satisfied           BIGINT NOT NULL DEFAULT 0,
    fairly_satisfied    BIGINT NOT NULL DEFAULT 0,
    dissatisfied        BIGINT NOT NULL DEFAULT 0,
    very_dissatisfied   BIGINT NOT NULL DEFAULT 0
);

-- Moves every pending change into the day and month rollups in one statement.
-- Rows inserted meanwhile stay for the next fold; two folds at once serialise
-- on the rows the first deletes.
CREATE FUNCTION mashangban_fold_dashboard() RETURNS void LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM dash_pending RETURNING day, dim, key, received, closed, closed_with_due, closed_on_time, very_satisfied, satisfied, fairly_satisfied, dissatisfied, very_dissatisfied
    ), by_day AS (
        SELECT day, dim, key, SUM(received) AS received, SUM(closed) AS closed, SUM(closed_with_due) AS closed_with_due, SUM(closed_on_time) AS closed_on_time, SUM(very_satisfied) AS very_satisfied, SUM(satisfied) AS satisfied, SUM(fairly_satisfied) AS fairly_satisfied, SUM(dissatisfied) AS dissatisfied, SUM(very_dissatisfied) AS very_dissatisfied FROM moved GROUP BY day, dim, key
    ), days AS (
        INSERT INTO dash_days (day, dim, key, received, closed, closed_with_due, closed_on_time, very_satisfied, satisfied, fairly_satisfied, dissatisfied, very_dissatisfied)
        SELECT day, dim, key, received, closed, closed_with_due, closed_on_time, very_satisfied, satisfied, fairly_satisfied, dissatisfied, very_dissatisfied FROM by_day ORDER BY day, dim, key
        ON CONFLICT (day, dim, key) DO UPDATE SET received = dash_days.received + EXCLUDED.received, closed = dash_days.closed + EXCLUDED.closed, closed_with_due = dash_days.closed_with_due + EXCLUDED.closed_with_due, closed_on_time = dash_days.closed_on_time + EXCLUDED.closed_on_time, very_satisfied = dash_days.very_satisfied + EXCLUDED.very_satisfied, satisfied = dash_days.satisfied + EXCLUDED.satisfied, fairly_satisfied = dash_days.fairly_satisfied + EXCLUDED.fairly_satisfied, dissatisfied = dash_days.dissatisfied + EXCLUDED.dissatisfied, very_dissatisfied = dash_days.very_dissatisfied + EXCLUDED.very_dissatisfied
    )
    INSERT INTO dash_months (month, dim, key, received, closed, closed_with_due, closed_on_time, very_satisfied, satisfied, fairly_satisfied, dissatisfied, very_dissatisfied)
    SELECT day / 100, dim, key, SUM(received), SUM(closed), SUM(closed_with_due), SUM(closed_on_time), SUM(very_satisfied), SUM(satisfied), SUM(fairly_satisfied), SUM(dissatisfied), SUM(very_dissatisfied) FROM by_day GROUP BY day / 100, dim, key ORDER BY 1, 2, 3
    ON CONFLICT (month, dim, key) DO UPDATE SET received = dash_months.received + EXCLUDED.received, closed = dash_months.closed + EXCLUDED.closed, closed_with_due = dash_months.closed_with_due + EXCLUDED.closed_with_due, closed_on_time = dash_months.closed_on_time + EXCLUDED.closed_on_time, very_satisfied = dash_months.very_satisfied + EXCLUDED.very_satisfied, satisfied = dash_months.satisfied + EXCLUDED.satisfied, fairly_satisfied = dash_months.fairly_satisfied + EXCLUDED.fairly_satisfied, dissatisfied = dash_months.dissatisfied + EXCLUDED.dissatisfied, very_dissatisfied = dash_months.very_dissatisfied + EXCLUDED.very_dissatisfied;
$$;
