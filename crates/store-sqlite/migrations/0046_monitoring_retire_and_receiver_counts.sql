-- Monitoring points can be retired (停用): the device is refused from then on, the point raises no
-- 数据缺失 alert and cannot be changed; its readings, alerts and history stay.
ALTER TABLE monitoring_points ADD COLUMN retired_at TEXT;

-- What the HJ 212 receivers counted, per source (a device's MN, or `peer:<ip>` for packets of
-- unknown devices and frames before any device is known), hour (Shanghai, `2026-12-05T14`) and
-- counter (`stored_packets`, `bad_frames`, `wrong_password`, ...). Every node adds its counts in
-- batches; readers sum over nodes and hours.
CREATE TABLE monitoring_receiver_counts (
    source  TEXT NOT NULL,
    bucket  TEXT NOT NULL,
    counter TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (source, bucket, counter)
);
CREATE INDEX monitoring_receiver_counts_bucket ON monitoring_receiver_counts(bucket);
