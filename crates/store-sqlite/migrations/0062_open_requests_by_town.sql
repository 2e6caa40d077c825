-- The likely-duplicate check (疑似重复) reads the open requests of one town received within a window
-- around the request. Without this index SQLite walked the whole town through `requests_town`,
-- closed years included (30 ms of CPU per check at 100k requests). Only open requests are indexed,
-- so it stays as small as the open work, whatever the archive holds. The state list must match,
-- term for term and in this order, the one the list query writes (`open_states` in store-sql),
-- or the planner cannot prove the index applies; a store-sql test checks that it does.
CREATE INDEX requests_open_town ON requests(town_id, received_at)
    WHERE state IN ('received', 'dispatched', 'returned', 'signed_for', 'in_progress', 'suspended', 'replied');
