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
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"

K8S_BIN="$PHOTOSTORE_CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$PHOTOSTORE_CACHE/etcd-$ETCD_VERSION/bin"
KWOK_BIN="$PHOTOSTORE_CACHE/kwok-$KWOK_VERSION/bin"
VERSITYGW_BIN="$PHOTOSTORE_CACHE/versitygw-$VERSITYGW_VERSION/bin"
KAFKA_HOME="$PHOTOSTORE_CACHE/kafka-$KAFKA_VERSION"
COREDNS_BIN="$PHOTOSTORE_CACHE/coredns-$COREDNS_VERSION/bin"
HELM_BIN="$PHOTOSTORE_CACHE/helm-$HELM_VERSION/bin"

export GOMODCACHE="$PHOTOSTORE_CACHE/go/mod"
export GOCACHE="$PHOTOSTORE_CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# Loopback ports of the environment.
APISERVER_PORT=16443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
PG_PORT=15432
PG_REPLICA_PORT=15433    # a streaming replica of the PostgreSQL on PG_PORT
REDIS_PORT=16379
REDIS_CLUSTER_PORT=17001  # a Redis Cluster: REDIS_CLUSTER_NODES nodes from here (bus: +10000)
REDIS_CLUSTER_NODES=6     # three masters, each with one replica
KAFKA_PORT=19092          # broker i (1..KAFKA_BROKERS) uses KAFKA_PORT + 100*(i-1) and the next two
KAFKA_BROKERS=3
S3_PORT=17070
KAFKA_NODE_PORT=19094     # broker 1's listener for pods, on NODE_GATEWAY
COREDNS_HEALTH_PORT=18054
KUBE_PROXY_HEALTH_PORT=10256
KUBELET_HEALTH_PORT=10248

# The real kubelet node (hack/env/node): a bridge whose gateway address is the host's face
# to pods. Servers listen there too; cluster DNS answers there. Pods land on the node only
# with the label and taint below (see README, "A real node").
NODE_NAME=photostore-node-1
NODE_BRIDGE=photostore0
NODE_CIDR=10.99.0.0/24
NODE_GATEWAY=10.99.0.1
NODE_POOL_KEY=photostore.local/node
NODE_POOL_VALUE=real

# PHOTOSTORE_NODE=0 leaves the real node out of the default parts (kwok nodes only).
ALL_PARTS=(kubernetes postgres redis kafka s3)
[[ "${PHOTOSTORE_NODE:-1}" == 0 ]] || ALL_PARTS+=(node)

log() { printf '[env] %s\n' "$*" >&2; }
die() { printf '[env] error: %s\n' "$*" >&2; exit 1; }

# running NAME: the process recorded for NAME is alive.
running() { [[ -f "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

# spawn NAME COMMAND...: run detached in its own session, log to var/log/NAME.log.
spawn() {
  local name=$1; shift
  running "$name" && return
  # 8>&-: the daemon must not inherit up.sh's lock, or the next up.sh would wait forever.
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

# stop NAME: TERM the process group recorded for NAME, KILL it after 10 s.
stop() {
  local pidfile="$RUN_DIR/$1.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# kafka_addresses HOST OFFSET: the brokers' host:port list, comma-separated (OFFSET 0: host
# listeners, 2: the pods' listeners on NODE_GATEWAY).
kafka_addresses() {
  local i out=()
  for i in $(seq 1 "$KAFKA_BROKERS"); do out+=("$1:$((KAFKA_PORT + 100 * (i - 1) + $2))"); done
  (IFS=,; echo "${out[*]}")
}

# redis_cluster_ports: the cluster nodes' ports, one per line.
redis_cluster_ports() { seq "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + REDIS_CLUSTER_NODES - 1)); }

# redis_cluster_ok: every slot of the Redis Cluster is served.
redis_cluster_ok() {
  redis-cli --no-auth-warning -a "$REDIS_PASSWORD" -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null |
    grep -q '^cluster_state:ok'
}

# listens ADDRESS PORT: something accepts TCP connections there.
listens() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

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
