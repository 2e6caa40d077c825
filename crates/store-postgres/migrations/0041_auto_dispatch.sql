-- Automatic dispatch (自动派单), versioned: the newest is in force. Each version lists, as JSON, the
-- categories whose new requests go straight to the unit suggested first, with the confidence that
-- suggestion needs ([{"category": "biz.change", "min_confidence": 0.9}]), and who saved it and when.
CREATE TABLE auto_dispatch_settings (
    version    BIGINT PRIMARY KEY,
    rules      TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT COLLATE "C" NOT NULL
);
