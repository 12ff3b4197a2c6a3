-- Initial schema: accounts, photos (with every column the processor writes), the
-- transactional outbox and the ledger of objects that may need deleting from S3.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Login sessions: the bearer token is random; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Long-lived per-user API keys, revocable; only the SHA-256 of the key is stored.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at DESC);

CREATE TABLE photos (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename          text NOT NULL,
    s3_key            text NOT NULL UNIQUE,
    size              bigint NOT NULL CHECK (size > 0),
    content_type      text NOT NULL,
    sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    tags              text[] NOT NULL DEFAULT '{}',
    metadata          jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    -- Written by the processor.
    processing_status text NOT NULL DEFAULT 'pending'
        CHECK (processing_status IN ('pending', 'processing', 'done', 'failed')),
    processing_error  text,
    processed_at      timestamptz,
    width             int,
    height            int,
    taken_at          timestamptz,
    camera_make       text,
    camera_model      text,
    location          geography(Point, 4326),
    exif              jsonb,
    ahash             bigint,
    dhash             bigint,
    phash             bigint,
    blur_score        double precision,
    dominant_colors   jsonb,
    color_histogram   jsonb,
    thumbnails        jsonb NOT NULL DEFAULT '{}'
);
-- Keyset pagination, newest first.
CREATE INDEX photos_user_created_idx ON photos (user_id, created_at DESC, id DESC);
CREATE INDEX photos_trash_idx ON photos (user_id, deleted_at DESC, id DESC)
    WHERE deleted_at IS NOT NULL;
CREATE INDEX photos_user_taken_idx ON photos (user_id, taken_at DESC);
CREATE INDEX photos_tags_idx ON photos USING gin (tags);
CREATE INDEX photos_filename_trgm_idx ON photos USING gin (filename gin_trgm_ops);
CREATE INDEX photos_metadata_idx ON photos USING gin (metadata jsonb_path_ops);
CREATE INDEX photos_location_idx ON photos USING gist (location);
-- The same bytes uploaded twice by one user are one photo (while it is not in the trash).
CREATE UNIQUE INDEX photos_user_sha256_live_key ON photos (user_id, sha256)
    WHERE deleted_at IS NULL;

-- Transactional outbox: written in the transaction that writes the photo, relayed to
-- Kafka by the API process, marked published once the broker acknowledged it.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    attempts     int NOT NULL DEFAULT 0,
    last_error   text,
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Objects that may exist in S3 without a photo row: uploads in flight (not_before in the
-- future) and purged photos' objects. A sweeper deletes each object once not_before has
-- passed and no photo with photo_id exists, then deletes the ledger row.
CREATE TABLE object_cleanup (
    id         bigserial PRIMARY KEY,
    photo_id   uuid NOT NULL,
    s3_key     text NOT NULL,
    not_before timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX object_cleanup_not_before_idx ON object_cleanup (not_before);
CREATE INDEX object_cleanup_photo_id_idx ON object_cleanup (photo_id);
