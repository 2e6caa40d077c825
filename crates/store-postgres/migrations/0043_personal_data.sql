-- Personal data encrypted at rest (docs/personal-data.md): the asker's contact name, phone and e-mail
-- hold `v1:<key id>:<base64>` (SM4-GCM) once the start-up sweep has run, so the phone index is useless;
-- equality look-ups by phone go through its keyed hash (HMAC-SM3), hex, under the current key.
-- Existing rows are encrypted by the program (the key is not in the database), not here.
ALTER TABLE requests ADD COLUMN contact_phone_hash TEXT;
DROP INDEX IF EXISTS requests_phone;
CREATE INDEX requests_phone_hash ON requests(contact_phone_hash, id);
