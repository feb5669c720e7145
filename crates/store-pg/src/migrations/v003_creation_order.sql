-- Creation order that does not depend on the clock's resolution. `created_at` is in
-- milliseconds: two keys, blocks or webhooks created in the same millisecond would otherwise be
-- listed in the order of their random ids, which differs from the order they were made in (and
-- from SQLite, which breaks such ties by rowid). An identity column numbers rows as they are
-- inserted; existing rows are numbered when the column is added.
ALTER TABLE api_keys ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE blocks ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE docs ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE webhooks ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE callbacks ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
