-- photostore: no-transaction
-- Search indexes scoped by user, built without blocking writes.
--
-- Every search filters on user_id, but the tag, trigram, metadata and location indexes of
-- 0001 covered the whole table: a query matched every user's rows before the user_id filter,
-- so its cost followed the table's size. These indexes lead with user_id (btree_gin and
-- btree_gist give GIN and GiST a user_id key). The GiST and btree ones keep a user's entries
-- together. GIN keeps one posting list per column and key, so there the user's list is
-- intersected with the term's, which still spans every user (bench/search_bench.py).
--
-- Near-duplicates: the 64-bit pHash split into four 16-bit bands, each indexed with user_id
-- as an expression, so PostgreSQL keeps them in step with phash on every write and there is
-- nothing to backfill. photostore.api.phash_bands holds the same expressions and the rule
-- that picks the band values a search must probe. They are not partial: the planner uses
-- the statistics ANALYZE gathers on an index's expressions only for an index without a
-- WHERE clause, and without them it takes each probed value for 1 row in 200.
--
-- Each statement runs on its own, outside a transaction (CREATE INDEX CONCURRENTLY). A build
-- that failed leaves an INVALID index; the migration runner drops such an index of this file
-- before running it again, and IF NOT EXISTS skips the ones that were finished.

CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_filename_trgm_idx
    ON photos USING gin (user_id, filename gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_tags_idx
    ON photos USING gin (user_id, tags);
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_metadata_idx
    ON photos USING gin (user_id, metadata jsonb_path_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_location_idx
    ON photos USING gist (user_id, location);

CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_phash_band0_idx
    ON photos (user_id, (phash & 65535));
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_phash_band1_idx
    ON photos (user_id, ((phash >> 16) & 65535));
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_phash_band2_idx
    ON photos (user_id, ((phash >> 32) & 65535));
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_phash_band3_idx
    ON photos (user_id, ((phash >> 48) & 65535));

-- Every query that used the whole-table indexes names a user; the indexes above serve them.
DROP INDEX CONCURRENTLY IF EXISTS photos_tags_idx;
DROP INDEX CONCURRENTLY IF EXISTS photos_filename_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS photos_metadata_idx;
DROP INDEX CONCURRENTLY IF EXISTS photos_location_idx;
