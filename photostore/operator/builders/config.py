"""The ConfigMap of non-secret settings and the env entries that reference Secrets.

The workloads read `PHOTOSTORE_*` variables. Credentials never enter the ConfigMap: the
containers get them from the referenced Secrets by `secretKeyRef`.
"""

from __future__ import annotations

from photostore.operator.builders.common import Obj, child_name, metadata
from photostore.operator.spec import PhotoStorage

REDIS_PASSWORD_ENV = "PHOTOSTORE_REDIS_PASSWORD"  # noqa: S105 - a variable name


def config_name(ps: PhotoStorage) -> str:
    return child_name(ps, "config")


def _libpq_url(host: str, port: int, ps: PhotoStorage) -> str:
    db = ps.spec.database
    return f"postgresql://{host}:{port}/{db.name}?sslmode={db.ssl_mode}"


def database_url(ps: PhotoStorage) -> str:
    """The primary; libpq takes the user and password from PGUSER / PGPASSWORD."""
    db = ps.spec.database
    return _libpq_url(db.host, db.port, ps)


def replica_urls(ps: PhotoStorage) -> list[str]:
    """The read replicas, as the primary's URL: same database, sslmode and credentials."""
    return [_libpq_url(r.host, r.port, ps) for r in ps.spec.database.replicas]


def redis_url(ps: PhotoStorage, password: str | None = None) -> str:
    """With redis.cluster, the first node: the URL still carries the password and TLS."""
    redis = ps.spec.redis
    scheme = "rediss" if redis.tls else "redis"
    auth = f":{password}@" if password else ""
    address = redis.cluster[0] if redis.cluster else f"{redis.host}:{redis.port}"
    return f"{scheme}://{auth}{address}/{redis.database}"


def trusted_proxies(ps: PhotoStorage) -> list[str]:
    """api.trustedProxies, then the ingress controller's addresses, each once."""
    s = ps.spec
    extra = s.ingress.controller_addresses if s.ingress else []
    return list(dict.fromkeys([*s.api.trusted_proxies, *extra]))


METRICS_PORT = 9090  # the API's and the processor's /metrics, never on the API's own port


def settings(ps: PhotoStorage) -> dict[str, str]:
    """Every non-secret setting, as the environment the workloads read."""
    s = ps.spec
    data = {
        "PHOTOSTORE_DATABASE_URL": database_url(ps),
        "PHOTOSTORE_REDIS_URL": redis_url(ps),
        "PHOTOSTORE_KAFKA_BROKERS": ",".join(s.kafka.brokers),
        "PHOTOSTORE_KAFKA_TOPIC": s.kafka.topic,
        "PHOTOSTORE_KAFKA_GROUP": s.kafka.consumer_group,
        "PHOTOSTORE_S3_BUCKET": s.storage.bucket,
        "PHOTOSTORE_S3_REGION": s.storage.region,
        "PHOTOSTORE_RATE_LIMIT_REQUESTS": str(s.api.rate_limit.requests),
        "PHOTOSTORE_RATE_LIMIT_WINDOW_SECONDS": str(s.api.rate_limit.window_seconds),
        "PHOTOSTORE_TRUSTED_PROXIES": ",".join(trusted_proxies(ps)),
        "PHOTOSTORE_METRICS_PORT": str(METRICS_PORT),
    }
    if s.storage.endpoint:
        data["PHOTOSTORE_S3_ENDPOINT"] = s.storage.endpoint
    if s.redis.cluster:
        data["PHOTOSTORE_REDIS_CLUSTER_NODES"] = ",".join(s.redis.cluster)
    return data


def replica_env(ps: PhotoStorage) -> list[Obj]:
    """The read replicas, for the API container only: not in the ConfigMap, which the
    migration Job reads too, so that nothing but the API's reads ever goes to a replica."""
    urls = replica_urls(ps)
    if not urls:
        return []
    lag = ps.spec.database.replica_max_lag_seconds
    return [
        {"name": "PHOTOSTORE_DATABASE_REPLICA_URLS", "value": ",".join(urls)},
        {"name": "PHOTOSTORE_DATABASE_REPLICA_MAX_LAG_SECONDS", "value": str(lag)},
    ]


def build_configmap(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(ps, config_name(ps), "config"),
        "data": settings(ps),
    }


def secret_ref(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret_env(ps: PhotoStorage) -> list[Obj]:
    """Credentials from the referenced Secrets; libpq reads PGUSER/PGPASSWORD itself."""
    s = ps.spec
    env = [
        secret_ref("PGUSER", s.database.secret_name, "username"),
        secret_ref("PGPASSWORD", s.database.secret_name, "password"),
        secret_ref("AWS_ACCESS_KEY_ID", s.storage.secret_name, "accessKeyId"),
        secret_ref("AWS_SECRET_ACCESS_KEY", s.storage.secret_name, "secretAccessKey"),
    ]
    if s.redis.secret_name:
        # Kubernetes expands $(VAR) from earlier entries, so the URL never holds the secret.
        env.append(secret_ref(REDIS_PASSWORD_ENV, s.redis.secret_name, "password"))
        env.append(
            {
                "name": "PHOTOSTORE_REDIS_URL",
                "value": redis_url(ps, password=f"$({REDIS_PASSWORD_ENV})"),
            }
        )
    return env


def env_from(ps: PhotoStorage) -> list[Obj]:
    return [{"configMapRef": {"name": config_name(ps)}}]
