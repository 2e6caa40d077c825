-- Documents (附件) of visits (走访照片), as SQLite's 0050: the owner kind `visit`, and the visit's history
-- records each upload and withdrawal.
ALTER TABLE documents DROP CONSTRAINT documents_owner_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_owner_kind_check
    CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection', 'compensation_matter',
                          'direct_line_item', 'onsite_request', 'visit'));
ALTER TABLE visit_events DROP CONSTRAINT visit_events_action_check;
ALTER TABLE visit_events ADD CONSTRAINT visit_events_action_check
    CHECK (action IN ('planned', 'recorded', 'cancelled', 'document_added', 'document_withdrawn'));
