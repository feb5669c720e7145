-- The dashboard. An execution keeps the idempotency key its delivery was sent with (the claim
-- on the key stays in `deliveries`); a key's dashboard sessions signed in before
-- `sessions_after` (ms) are over (sign-out). The api_keys trigger of schema 2 announces the
-- change, so every node's cached key records drop it.
ALTER TABLE executions ADD COLUMN idempotency_key text;
ALTER TABLE api_keys ADD COLUMN sessions_after bigint;
