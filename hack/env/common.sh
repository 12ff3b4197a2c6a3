# Shared settings for the local environment scripts. Sourced, never run.
# Everything downloaded or built is cached under PHOTOSTORE_CACHE, keyed by version,
# so a second run only starts the servers. Runtime state lives under the repo's var/.
set -euo pipefail

ENV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$ENV_DIR/../.." && pwd)"
PHOTOSTORE_CACHE="${PHOTOSTORE_CACHE:-$HOME/.cache/photostore}"
VAR_DIR="${PHOTOSTORE_VAR:-$REPO_ROOT/var}"
LOG_DIR="$VAR_DIR/log"
DATA_DIR="$VAR_DIR/data"
RUN_DIR="$VAR_DIR/run"
ENV_FILE="$VAR_DIR/env"

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"

K8S_BIN="$PHOTOSTORE_CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$PHOTOSTORE_CACHE/etcd-$ETCD_VERSION/bin"
KWOK_BIN="$PHOTOSTORE_CACHE/kwok-$KWOK_VERSION/bin"
VERSITYGW_BIN="$PHOTOSTORE_CACHE/versitygw-$VERSITYGW_VERSION/bin"
KAFKA_HOME="$PHOTOSTORE_CACHE/kafka-$KAFKA_VERSION"

export GOMODCACHE="$PHOTOSTORE_CACHE/go/mod"
export GOCACHE="$PHOTOSTORE_CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# Loopback ports of the environment.
APISERVER_PORT=16443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
PG_PORT=15432
REDIS_PORT=16379
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
S3_PORT=17070

ALL_PARTS=(kubernetes postgres redis kafka s3)

log() { printf '[env] %s\n' "$*" >&2; }
die() { printf '[env] error: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: retry COMMAND until it succeeds.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what not ready after ${timeout}s (logs in $LOG_DIR)"
    fi
    sleep 0.3
  done
}
