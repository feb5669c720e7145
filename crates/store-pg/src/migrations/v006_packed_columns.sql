-- An execution's large columns packed as SQLite packs them (#20): text under 512 bytes as is,
-- longer text as a zstd frame when smaller (`wasmhook_store::executions::packed`), in `bytea`;
-- a frame starts with bytes valid UTF-8 never starts with, so each value says which it is.
-- PostgreSQL's TOAST compresses only rows over ≈ 2 KiB, with pglz: a 1 KiB webhook's record
-- (input + output ≈ 1.2–2.3 KiB) was stored whole, or at 0.67 of its size where zstd keeps
-- 0.44. STORAGE EXTERNAL: a packed value is not compressed a second time, and still moves out
-- of line when a row outgrows a page. Rewrites the table (existing text becomes its UTF-8
-- bytes, read back as before): on a large `executions` table, the first start of this version
-- holds its writes for as long as that takes.
ALTER TABLE executions
    ALTER COLUMN output TYPE bytea USING convert_to(output, 'UTF8'),
    ALTER COLUMN logs DROP DEFAULT,
    ALTER COLUMN logs TYPE bytea USING convert_to(logs, 'UTF8'),
    ALTER COLUMN logs SET DEFAULT convert_to('[]', 'UTF8'),
    ALTER COLUMN outbound TYPE bytea USING convert_to(outbound, 'UTF8'),
    ALTER COLUMN input TYPE bytea USING convert_to(input, 'UTF8');
ALTER TABLE executions
    ALTER COLUMN output SET STORAGE EXTERNAL,
    ALTER COLUMN logs SET STORAGE EXTERNAL,
    ALTER COLUMN outbound SET STORAGE EXTERNAL,
    ALTER COLUMN input SET STORAGE EXTERNAL;
