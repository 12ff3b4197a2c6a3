-- Account state the API checks on every request: an account an administrator disabled,
-- and a counter raised whenever any of the account's credentials ends (logout, key
-- revoked, account disabled or deleted), so every API process drops its cached
-- credentials of the account at once.

ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE users ADD COLUMN credential_epoch bigint NOT NULL DEFAULT 0;
