-- The likely-duplicate check (疑似重复) reads the open requests of one town received within a window
-- around the request; before this index it had to pick between all of the town's requests and all
-- requests of the window. Only open requests are indexed, so it stays as small as the open work,
-- whatever the archive holds. The state list must match the one the list query writes
-- (`open_states` in store-sql), or the planner cannot prove the index applies; a store-sql test
-- checks that it does. Built in the migration's transaction: writes to requests wait for it.
CREATE INDEX requests_open_town ON requests(town_id, received_at)
    WHERE state IN ('received', 'dispatched', 'returned', 'signed_for', 'in_progress', 'suspended', 'replied');
