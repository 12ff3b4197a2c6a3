"""Search benchmark against the local PostgreSQL: `make bench-search`.

Builds a database of --photos photos (default 10,000,000) with generate_series, kept between
runs as `photostore_bench_search` and rebuilt only when it is missing, holds another number
of photos, or was made by another generator (--rebuild forces it). A kept database is brought
forward by the migrations added since, as a deployed one would be (a changed migration makes
the runner refuse it, and then it is rebuilt). The rows are loaded
with the secondary indexes and constraints dropped, which are then made again from the
definitions the migrations gave them. One heavy user owns 1 % of the photos; light users own
about 1,000 each; their rows are interleaved through the table as uploads over time would be.
Filenames are camera names (IMG_20210704_101010.jpg, DSC01234.JPG, Screenshot ...) or two
words and a number; up to 3 tags out of 60, skewed; an album (and for 3 in 10 a rating) in the
metadata; for 6 in 10 a point, mostly near the user's home city; pHashes in bursts of 4
near-duplicates.

Each search shape runs the API's own SQL (photostore.api.search_sql, photos_db.list_query)
--queries times (default 300) with varied terms for the heavy user, for a light user, and
for the same light user in `photostore_bench_search_floor`, a database holding only that
user's photos (same schema): the floor. After a warm-up pass, --rounds rounds (default 3)
run every query of the three in turn; a query's time is its best round, so that the
percentiles show the slow queries rather than the moments the shared machine's other work
took the CPU. Shapes: list (a page of 50 after a random cursor), filename (a word, a word
with a typo, IMG_yyyymm, DSC0nn, Screenshot yyyy-mm), tags (one or two), radius (1-100 km
around a city), similar (a random photo of the user, max_distance 10: the target lookup and
the search), metadata (album, or album and rating).

Prints `RESULT name value unit` lines:
  search_<shape>_<heavy|light|floor>_<p50|p99>   milliseconds
  search_<shape>_light_over_floor               light p99 / floor p99; goal <= 2
  goals: similar heavy p99 < 20 ms, filename heavy p99 < 50 ms
  database_size, photos_table_size, index_<name>_size   MB
  build_s                                       seconds the build took (when it ran)
  migrate_kept_s                                seconds the migrations added since took
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from photostore.api.photos_db import ListFilters, list_query
from photostore.api.search_sql import (
    TARGET_PHASH,
    Place,
    SearchCriteria,
    search_query,
    similar_query,
)
from photostore.db.migrate import MigrationError, apply_migrations
from photostore.local_env import read_env_file

DB_NAME = "photostore_bench_search"
FLOOR_DB_NAME = "photostore_bench_search_floor"
# Raised whenever the generated rows change, so that kept databases are rebuilt.
GENERATOR_VERSION = 1
HEAVY_SHARE = 100  # every 100th photo is the heavy user's
LIGHT_PHOTOS = 1000  # photos per light user, about
HEAVY, LIGHT = 0, 1
SHAPES = ("list", "similar", "filename", "tags", "radius", "metadata")
WORDS = (  # noqa: SIM905 - a paragraph of words reads better than a list
    "beach sunset mountain lake forest river city street market garden park bridge tower "
    "castle church museum harbor island desert canyon valley meadow snow winter summer spring "
    "autumn birthday wedding party dinner lunch breakfast coffee picnic concert festival "
    "parade family friends kids baby grandma grandpa puppy kitten horse bird flowers roses "
    "tulips sunrise night stars moon clouds storm rain fog hiking camping skiing surfing "
    "sailing kayak cycling running football tennis school graduation office trip vacation "
    "holiday road train airport plane hotel pool boat ferry lighthouse village farm vineyard "
    "cathedral palace ruins temple shrine statue fountain square plaza alley rooftop skyline "
    "portrait selfie group dog cat food cake pizza sushi noodles"
).split()
TAGS = [f"tag-{word}" for word in WORDS[:60]]
# (lon, lat) of cities: users live near one and travel to others.
CITIES = [
    (2.35, 48.86), (-0.13, 51.51), (13.40, 52.52), (-3.70, 40.42), (12.50, 41.90),
    (-74.01, 40.71), (-118.24, 34.05), (-87.63, 41.88), (-122.42, 37.77), (-79.38, 43.65),
    (139.69, 35.69), (126.98, 37.57), (116.40, 39.90), (121.47, 31.23), (103.82, 1.35),
    (151.21, -33.87), (144.96, -37.81), (174.76, -36.85), (-46.63, -23.55), (-58.38, -34.60),
    (-99.13, 19.43), (28.98, 41.01), (37.62, 55.76), (31.24, 30.04), (18.42, -33.92),
    (3.38, 6.52), (36.82, -1.29), (77.21, 28.61), (72.88, 19.08), (100.50, 13.76),
]  # fmt: skip


def text_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value + "'" for value in values) + "]"


# One photo per n in [lo, hi): the heavy user owns n % 100 = 0, the light users the rest in
# turn; `idx` is the photo's rank in its user's library. Randoms come from hashint8extended.
PHOTOS = """
WITH rows AS (
    SELECT n, u, idx,
           hashint8extended(n, 1) AS h1, hashint8extended(n, 2) AS h2,
           hashint8extended(n, 3) AS h3,
           timestamptz '2019-01-01 00:00:00+00' + (n::float8 / {total}) * interval '6 years'
               AS created_at
    FROM generate_series({lo}, {hi} - 1) AS n
    CROSS JOIN LATERAL (SELECT n - n / {share} - 1 AS m) AS light
    CROSS JOIN LATERAL (SELECT
        CASE WHEN n % {share} = 0 THEN 0 ELSE 1 + m % {light_users} END AS u,
        CASE WHEN n % {share} = 0 THEN n / {share} ELSE m / {light_users} END AS idx) AS who
), shaped AS (
    SELECT rows.*, created_at - (abs(h1 >> 40) % 2592000) * interval '1 second' AS taken_at,
           abs(h1) % 10 AS kind
    FROM rows
)
INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256, tags,
    metadata, created_at, updated_at, processing_status, width, height, taken_at, location,
    phash)
SELECT md5('photo-' || n)::uuid, md5('user-' || u)::uuid,
    CASE WHEN kind < 4 THEN 'IMG_' || to_char(taken_at, 'YYYYMMDD_HH24MISS') || '.jpg'
         WHEN kind < 6 THEN 'DSC' || lpad((abs(h1 >> 8) % 100000)::text, 5, '0') || '.JPG'
         WHEN kind = 6 THEN 'Screenshot ' || to_char(taken_at, 'YYYY-MM-DD "at" HH24.MI.SS')
             || '.png'
         ELSE (words)[1 + abs(h1 >> 12) % {word_count}] || '_'
             || (words)[1 + abs(h1 >> 24) % {word_count}] || '_' || abs(h1 >> 36) % 1000
             || '.jpg'
    END,
    'originals/' || n, 200000 + abs(h1) % 8000000, 'image/jpeg',
    encode(sha256(int8send(n)), 'hex'),
    (ARRAY[(tags)[1 + (abs(h2 >> 4) % 60) * (abs(h2 >> 12) % 60) / 60],
           (tags)[1 + (abs(h2 >> 20) % 60) * (abs(h2 >> 28) % 60) / 60],
           (tags)[1 + abs(h2 >> 36) % 60]])[1:abs(h2) % 4],
    CASE WHEN abs(h2 >> 52) % 10 < 3
        THEN jsonb_build_object('album', 'album-' || abs(h2 >> 44) % 40, 'rating', abs(h2) % 6)
        ELSE jsonb_build_object('album', 'album-' || abs(h2 >> 44) % 40) END,
    created_at, created_at, 'done', 4000, 3000, taken_at,
    CASE WHEN abs(h3) % 5 < 3 THEN ST_SetSRID(ST_MakePoint(
        (cities)[1 + CASE WHEN abs(h3 >> 4) % 10 < 7 THEN u ELSE abs(h3 >> 8) END
            % {city_count}][1] + (abs(h3 >> 16) % 6000) / 10000.0 - 0.3,
        (cities)[1 + CASE WHEN abs(h3 >> 4) % 10 < 7 THEN u ELSE abs(h3 >> 8) END
            % {city_count}][2] + (abs(h3 >> 32) % 6000) / 10000.0 - 0.3), 4326)::geography
    END,
    hashint8extended(u::int8 * 1000003 + idx / 4, 7)
        # CASE WHEN idx % 4 = 0 THEN 0
            ELSE (1::int8 << (abs(h3 >> 40) % 64)::int) | (1::int8 << (abs(h3 >> 46) % 64)::int)
                | (1::int8 << (abs(h3 >> 52) % 64)::int) END
FROM shaped, (SELECT {words} AS words, {tags} AS tags, {cities} AS cities) AS vocabulary
"""


Runner = psycopg.Connection[Any]
Query = Callable[[Runner], None]


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name} {value:.3f} {unit}", flush=True)


def user_id(u: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"user-{u}".encode()).hexdigest())  # noqa: S324 - an id


def schema_stamp(photos: int) -> str:
    """What the kept database's rows were made by: the generator and N."""
    return f"generator {GENERATOR_VERSION}, {photos} photos"


def stamp_of(url: str) -> str | None:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT stamp FROM bench_build").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


def migrated(url: str) -> set[int]:
    """The migration versions a database has applied (none when it has no such table)."""
    try:
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
            return {int(row[0]) for row in rows}
    except psycopg.Error:
        return set()


def migrate_kept(url: str) -> bool:
    """Apply the migrations added since the kept database was built; False if it can't be."""
    started = time.monotonic()
    try:
        applied = apply_migrations(make_conninfo(url, options="-c maintenance_work_mem=1GB"))
    except MigrationError as exc:
        print(f"# kept database refused by the migrations ({exc}): rebuilding", flush=True)
        return False
    if applied:
        result("migrate_kept_s", time.monotonic() - started, "s")
    return True


def recreate_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    apply_migrations(url)
    return url


def drop_photo_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop photos' constraints (but NOT NULL and CHECK) and indexes; return SQL making them."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'photos'::regclass AND contype IN ('p', 'u', 'f')"
    ).fetchall()
    indexes = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'photos'::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    ).fetchall()
    remake = []
    for name, definition in constraints:
        conn.execute(f'ALTER TABLE photos DROP CONSTRAINT "{name}"'.encode())
        remake.append(f'ALTER TABLE photos ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        conn.execute(f'DROP INDEX "{name}"'.encode())
        remake.append(definition)
    return remake


def build(admin_url: str, photos: int) -> float:
    """Make the bench database and the floor database; return the seconds it took."""
    started = time.monotonic()
    url = recreate_database(admin_url, DB_NAME)
    light_users = max(1, (photos - photos // HEAVY_SHARE) // LIGHT_PHOTOS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        remake = drop_photo_indexes(conn)
        conn.execute(
            "INSERT INTO users (id, email, password_hash)"
            " SELECT md5('user-' || u)::uuid, 'bench' || u || '@example.com', 'x'"
            " FROM generate_series(0, %s) AS u",
            (light_users,),
        )
        chunk = 1_000_000
        for lo in range(0, photos, chunk):
            statement = PHOTOS.format(
                lo=lo,
                hi=min(photos, lo + chunk),
                total=photos,
                share=HEAVY_SHARE,
                light_users=light_users,
                word_count=len(WORDS),
                city_count=len(CITIES),
                words=text_array(WORDS),
                tags=text_array(TAGS),
                cities="ARRAY[" + ", ".join(f"ARRAY[{x}, {y}]" for x, y in CITIES) + "]",
            )
            conn.execute(statement.encode())
            print(
                f"# {min(photos, lo + chunk)} photos, {time.monotonic() - started:.0f} s",
                flush=True,
            )
        for statement in remake:
            conn.execute(statement.encode())
        print(f"# indexes made, {time.monotonic() - started:.0f} s", flush=True)
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_build (stamp text NOT NULL)")
        conn.execute("INSERT INTO bench_build VALUES (%s)", (schema_stamp(photos),))
    build_floor(admin_url, url)
    return time.monotonic() - started


def build_floor(admin_url: str, url: str) -> None:
    """The light user's photos alone, in a database of the same schema."""
    floor_url = recreate_database(admin_url, FLOOR_DB_NAME)
    with psycopg.connect(url) as source, psycopg.connect(floor_url, autocommit=True) as target:
        for table in ("users", "photos"):
            column = "id" if table == "users" else "user_id"
            query = f"COPY (SELECT * FROM {table} WHERE {column} = %s) TO STDOUT"  # noqa: S608
            with (
                source.cursor().copy(query.encode(), (user_id(LIGHT),)) as out,
                target.cursor().copy(f"COPY {table} FROM STDIN".encode()) as into,
            ):
                for data in out:
                    into.write(data)
        target.execute("VACUUM ANALYZE")


def shape_queries(
    conn: psycopg.Connection[Any], who: uuid.UUID, count: int, seed: int
) -> dict[str, list[Query]]:
    """`count` queries of each shape for one user; the same seed gives the same terms."""
    rng = random.Random(seed)
    photos = conn.execute(
        "SELECT id, created_at, phash FROM photos WHERE user_id = %s ORDER BY id", (who,)
    ).fetchall()
    rng.shuffle(photos)
    picks = [photos[i % len(photos)] for i in range(count)]

    def run(query: bytes, params: list[Any]) -> Query:
        def go(c: psycopg.Connection[Any]) -> None:
            c.execute(query, params).fetchall()

        return go

    def listing(after: tuple[datetime, uuid.UUID]) -> Query:
        query, params = list_query(who, trash=False, filters=ListFilters(), after=after, limit=50)
        return run(query, params)

    def similar(photo_id: uuid.UUID) -> Query:
        def go(c: psycopg.Connection[Any]) -> None:
            row = c.execute(TARGET_PHASH, (photo_id, who)).fetchone()
            assert row is not None
            c.execute(*similar_query(who, photo_id, int(row[0]), 10, 20)).fetchall()

        return go

    def filename_term() -> str:
        word = rng.choice(WORDS)
        kind = rng.randrange(10)
        if kind < 4:
            return word
        if kind < 6:
            i = rng.randrange(len(word) - 1)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped
        if kind < 8:
            return f"IMG_{rng.randrange(2019, 2025)}{rng.randrange(1, 13):02d}"
        if kind == 8:
            return f"DSC0{rng.randrange(100):02d}"
        return f"Screenshot {rng.randrange(2019, 2025)}-{rng.randrange(1, 13):02d}"

    def criteria(shape: str) -> SearchCriteria:
        if shape == "filename":
            return SearchCriteria(filename=filename_term())
        if shape == "tags":
            return SearchCriteria(tags=rng.sample(TAGS[:20], rng.choice((1, 1, 2))))
        if shape == "radius":
            lon, lat = rng.choice(CITIES)
            place = Place(lat + rng.uniform(-0.2, 0.2), lon + rng.uniform(-0.2, 0.2), 0)
            radius = rng.choice((1_000, 5_000, 25_000, 100_000))
            return SearchCriteria(place=Place(place.lat, place.lon, radius))
        metadata: dict[str, Any] = {"album": f"album-{rng.randrange(40)}"}
        if rng.random() < 0.5:
            metadata["rating"] = rng.randrange(6)
        return SearchCriteria(metadata=metadata)

    shapes: dict[str, list[Query]] = {
        "list": [listing((created, photo_id)) for photo_id, created, _ in picks],
        "similar": [similar(photo_id) for photo_id, _, _ in picks],
    }
    for shape in ("filename", "tags", "radius", "metadata"):
        shapes[shape] = [run(*search_query(who, criteria(shape), 50)) for _ in range(count)]
    return shapes


def measure(sides: list[tuple[Runner, list[Query]]], rounds: int) -> list[tuple[float, float]]:
    """p50 and p99 in ms for each side's queries, the sides interleaved query by query."""
    for conn, queries in sides:
        for query in queries:
            query(conn)
    best = [[float("inf")] * len(queries) for _, queries in sides]
    for _ in range(rounds):
        for i in range(len(sides[0][1])):
            for side, (conn, queries) in enumerate(sides):
                started = time.perf_counter()
                queries[i](conn)
                best[side][i] = min(best[side][i], (time.perf_counter() - started) * 1000)
    figures = []
    for times in best:
        cuts = statistics.quantiles(times, n=100, method="inclusive")
        figures.append((cuts[49], cuts[98]))
    return figures


def report_sizes(url: str) -> None:
    with psycopg.connect(url) as conn:
        mb = 1024 * 1024
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        table = conn.execute("SELECT pg_table_size('photos')").fetchone()
        assert database is not None and table is not None
        result("database_size", database[0] / mb, "MB")
        result("photos_table_size", table[0] / mb, "MB")
        for name, size in conn.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index"
            " WHERE indrelid = 'photos'::regclass ORDER BY 1"
        ).fetchall():
            result(f"index_{name}_size", size / mb, "MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help=f"comma-separated, of {', '.join(SHAPES)} (default: all)",
    )
    args = parser.parse_args()
    admin_url = read_env_file()["PHOTOSTORE_DATABASE_URL"]
    url = make_conninfo(admin_url, dbname=DB_NAME)
    floor_url = make_conninfo(admin_url, dbname=FLOOR_DB_NAME)
    if args.rebuild or stamp_of(url) != schema_stamp(args.photos) or not migrate_kept(url):
        result("build_s", build(admin_url, args.photos), "s")
    elif stamp_of(floor_url) is None or migrated(floor_url) != migrated(url):
        build_floor(admin_url, url)
    report_sizes(url)
    goals = {("similar", "heavy"): 20.0, ("filename", "heavy"): 50.0}
    with (
        psycopg.connect(url, autocommit=True) as conn,
        psycopg.connect(floor_url, autocommit=True) as floor,
    ):
        heavy = shape_queries(conn, user_id(HEAVY), args.queries, seed=1)
        light = shape_queries(conn, user_id(LIGHT), args.queries, seed=2)
        alone = shape_queries(floor, user_id(LIGHT), args.queries, seed=2)
        for shape in [s for s in heavy if s in args.shapes.split(",")]:
            sides = [(conn, heavy[shape]), (conn, light[shape]), (floor, alone[shape])]
            figures = dict(
                zip(("heavy", "light", "floor"), measure(sides, args.rounds), strict=True)
            )
            for who, (p50, p99) in figures.items():
                result(f"search_{shape}_{who}_p50", p50, "ms")
                result(f"search_{shape}_{who}_p99", p99, "ms")
            ratio = figures["light"][1] / figures["floor"][1]
            result(f"search_{shape}_light_over_floor", ratio, "x")
            print(f"# {shape}: light p99 {'meets' if ratio <= 2 else 'misses'} <= 2 x floor")
            goal = goals.get((shape, "heavy"))
            if goal is not None:
                verdict = "meets" if figures["heavy"][1] < goal else "misses"
                print(f"# {shape}: heavy p99 {verdict} < {goal:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
