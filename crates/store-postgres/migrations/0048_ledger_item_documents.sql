-- Documents (附件) of ledger items (台账条目), as SQLite's 0052: the owner kind `ledger_item`, and the item's
-- history records each upload and withdrawal.
ALTER TABLE documents DROP CONSTRAINT documents_owner_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_owner_kind_check
    CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection', 'compensation_matter',
                          'direct_line_item', 'onsite_request', 'visit', 'ledger_item'));
ALTER TABLE ledger_item_events DROP CONSTRAINT ledger_item_events_action_check;
ALTER TABLE ledger_item_events ADD CONSTRAINT ledger_item_events_action_check
    CHECK (action IN ('created', 'updated', 'moved', 'imported', 'migrated', 'document_added',
                      'document_withdrawn'));
