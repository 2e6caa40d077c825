-- Documents (附件) of two more owners, as SQLite's 0041: direct-line items (直通车来信: scans of letters) and
-- on-site service requests (行走办: photos and documents of the session).
ALTER TABLE documents DROP CONSTRAINT documents_owner_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_owner_kind_check
    CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection', 'compensation_matter',
                          'direct_line_item', 'onsite_request'));
