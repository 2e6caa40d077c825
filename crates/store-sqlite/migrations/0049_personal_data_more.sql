-- Personal data encrypted at rest, the other tables (docs/personal-data.md): direct-line askers, on-site
-- service requests' contacts, enterprise contacts, liaison cadres' work phones and accounts' phone and e-mail
-- hold `v1:<key id>:<base64>` (SM4-GCM) once the start-up sweep has run. Accounts are looked up by phone
-- (password reset): through its keyed hash (HMAC-SM3), hex, under the current key; the plain index goes.
-- Existing rows are encrypted by the program (the key is not in the database), not here.
ALTER TABLE users ADD COLUMN phone_hash TEXT;
DROP INDEX IF EXISTS users_phone;
CREATE INDEX users_phone_hash ON users(phone_hash);
