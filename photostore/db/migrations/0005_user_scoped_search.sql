-- photostore: no-transaction
-- Filename, tag and metadata searches that read only the caller's rows.
--
-- The GIN indexes of 0004 keep one posting list per column and key: a search intersected the
-- user's list with the term's, which spans every user, so its cost followed the table
-- (bench/search_bench.py at 10 million photos: a user with 1,000 photos searched filenames 44
-- times, tags 15 times and metadata 6 times slower than alone).
--
-- Filenames: GiST over (user_id, filename trigrams). Its tree is split by user first, so a
-- search descends into the caller's entries only; within one user it is split by trigrams,
-- and 256-byte signatures (the default is 12) keep a subtree's union of trigrams selective
-- enough to skip it. The index also gives the nearest names first (`<->`), so a page of
-- similar names costs a page of rows, not every match.
--
-- Tags and metadata: GIN over keys made from the user AND the term, hashed to 64 bits, so a
-- key's posting list holds only that user's rows with that term:
--   ' t ' tag                  for every tag;
--   ' k ' field                for every top-level metadata field;
--   ' v ' field ' ' value      for every top-level metadata field with a scalar value (numbers
--                              by value: 3 and 3.0 are one key, as jsonb containment has it).
-- When a photo's tags contain a search's tags and its metadata contains the search's metadata,
-- the photo's keys contain the search's keys, so the index finds every answer; the query
-- then checks tags @> and metadata @> on those rows, which also drops the rare row that only
-- a hash collision brought in. photostore.api.search_sql builds that query.
--
-- An expression index, not a stored column: adding a generated column would rewrite the table
-- under an exclusive lock, while an index is built beside the live table.

CREATE OR REPLACE FUNCTION photo_search_keys(owner uuid, tags text[], metadata jsonb)
RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT hashtextextended(owner::text || key, 0)), '{}')
    FROM (
        SELECT ' t ' || tag FROM unnest(tags) AS tag
        UNION ALL
        SELECT ' k ' || field.key
        FROM jsonb_each(CASE WHEN jsonb_typeof(metadata) = 'object' THEN metadata END) AS field
        UNION ALL
        SELECT ' v ' || field.key || ' ' || CASE jsonb_typeof(field.value)
            WHEN 'number' THEN trim_scale(field.value::numeric)::text
            ELSE field.value::text END
        FROM jsonb_each(CASE WHEN jsonb_typeof(metadata) = 'object' THEN metadata END) AS field
        WHERE jsonb_typeof(field.value) NOT IN ('object', 'array')
    ) AS keys (key)
$$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_search_keys_idx
    ON photos USING gin (photo_search_keys(user_id, tags, metadata));
CREATE INDEX CONCURRENTLY IF NOT EXISTS photos_user_filename_gist_idx
    ON photos USING gist (user_id, filename gist_trgm_ops (siglen = 256));

DROP INDEX CONCURRENTLY IF EXISTS photos_user_filename_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS photos_user_tags_idx;
DROP INDEX CONCURRENTLY IF EXISTS photos_user_metadata_idx;

-- The planner estimates the key condition from the statistics ANALYZE keeps on the index's
-- expression, which exist only once it has run after the index was made.
ANALYZE photos;
