#!/usr/bin/env bash
# Starts the local environment on loopback: a Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) with kwok nodes and one real kubelet node
# (hack/env/node), PostgreSQL, Redis, Kafka and an S3 server. Installs or builds what is
# missing first (cached), writes var/env, and returns when every part answers its health
# check. Running it again when all is up does nothing.
# Usage: up.sh [PART...] with PART among kubernetes postgres redis kafka s3 node (default: all).
source "$(dirname "$0")/common.sh"

start_time=$SECONDS
mkdir -p "$LOG_DIR" "$DATA_DIR" "$RUN_DIR"
parts=("$@"); ((${#parts[@]})) || parts=("${ALL_PARTS[@]}")
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }

# Two callers (say, two test sessions) start the environment one after the other.
exec 8>"$RUN_DIR/up.lock"
flock 8

# Credentials of this environment: generated once, kept in var/ (never committed).
SECRETS="$VAR_DIR/secrets"
if [[ ! -f "$SECRETS" ]]; then
  umask 077
  {
    echo "PG_PASSWORD=$(openssl rand -hex 16)"
    echo "REDIS_PASSWORD=$(openssl rand -hex 16)"
    echo "S3_ACCESS_KEY=photostore$(openssl rand -hex 4)"
    echo "S3_SECRET_KEY=$(openssl rand -hex 20)"
  } >"$SECRETS"
  umask 022
fi
source "$SECRETS"

start_etcd() {
  spawn etcd "$ETCD_BIN/etcd" --name photostore --data-dir "$DATA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "photostore=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

write_kubeconfig() {
  local pki="$VAR_DIR/pki"
  cat >"$VAR_DIR/kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: photostore-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: photostore-local
  context: {cluster: photostore-local, user: admin, namespace: default}
current-context: photostore-local
KCFG
}

# The apiserver's flags are recorded with its pid; a running apiserver whose flags differ
# from these (an older checkout started it) is restarted once, so that the real node's
# logs/exec and namespace-wide scheduling defaults work.
apiserver_args() {
  local pki="$VAR_DIR/pki"
  printf '%s\n' \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode Node,RBAC \
    --enable-priority-and-fairness=false \
    --profiling=false --v 1 \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --enable-admission-plugins PodNodeSelector,PodTolerationRestriction
}

start_kubernetes() {
  local pki="$VAR_DIR/pki" kc="$VAR_DIR/kubeconfig"
  start_etcd
  local args; mapfile -t args < <(apiserver_args)
  if running kube-apiserver && ! cmp -s <(printf '%s\n' "${args[@]}") "$RUN_DIR/kube-apiserver.args"; then
    log "restarting kube-apiserver: its flags changed"
    stop kube-apiserver
  fi
  printf '%s\n' "${args[@]}" >"$RUN_DIR/kube-apiserver.args"
  spawn kube-apiserver "$K8S_BIN/kube-apiserver" "${args[@]}"
  wait_for kube-apiserver 120 "$K8S_BIN/kubectl" --kubeconfig "$kc" get --raw /readyz
  spawn kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 0 \
    --leader-elect=false --use-service-account-credentials=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller' \
    --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 \
    --concurrent-gc-syncs 20 --kube-api-qps 200 --kube-api-burst 400 --v 1
  spawn kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --v 1
  kwok_config
  spawn kwok "$KWOK_BIN/kwok" --kubeconfig "$kc" --config "$RUN_DIR/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.0/16 --node-ip 127.0.0.1 -v WARN
  "$K8S_BIN/kubectl" --kubeconfig "$kc" apply --server-side --field-manager photostore-env \
    -f "$ENV_DIR/kwok-nodes.yaml" >/dev/null
  wait_for "kwok nodes" 60 bash -c \
    "[[ \$('$K8S_BIN/kubectl' --kubeconfig '$kc' get nodes --no-headers 2>/dev/null | grep -cw Ready) -ge 8 ]]"
  wait_for "default service account" 60 "$K8S_BIN/kubectl" --kubeconfig "$kc" get serviceaccount default -n default
}

# kwok's own stages (from its module): nodes become Ready and keep their leases, pods become
# Running and Ready, pods of Jobs complete, deleted pods go away. Ours (hack/env/kwok-stages):
# pods of one test image crash-loop.
kwok_config() {
  local stages="$GOMODCACHE/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  {
    echo "apiVersion: config.kwok.x-k8s.io/v1alpha1"
    echo "kind: KwokConfiguration"
    echo "options: {nodeLeaseDurationSeconds: 40, nodeLeaseParallelism: 4, podPlayStageParallelism: 8, nodePlayStageParallelism: 4, podsOnNodeSyncParallelism: 4}"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"; cat "$stages/$f"
    done
    for f in "$ENV_DIR"/kwok-stages/*.yaml; do
      echo "---"; cat "$f"
    done
  } >"$RUN_DIR/kwok.yaml"
}

start_postgres() {
  local bin=/usr/lib/postgresql/15/bin pgdata="$DATA_DIR/postgres" sock="$RUN_DIR/postgres"
  mkdir -p "$sock"; chown postgres:postgres "$sock"
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    mkdir -p "$pgdata"; chown postgres:postgres "$pgdata"
    local pwfile; pwfile=$(mktemp); echo "$PG_PASSWORD" >"$pwfile"; chown postgres "$pwfile"
    runuser -u postgres -- "$bin/initdb" -D "$pgdata" -U photostore --pwfile "$pwfile" \
      --auth-host scram-sha-256 --auth-local trust -E UTF8 >>"$LOG_DIR/postgres.log" 2>&1
    rm -f "$pwfile"
  fi
  touch "$LOG_DIR/postgres.log"; chown postgres "$LOG_DIR/postgres.log"
  # Pods connect from the bridge's network, with the same password as the host.
  local hba
  for hba in "host all all $NODE_CIDR scram-sha-256" "host replication photostore 127.0.0.1/32 scram-sha-256"; do
    grep -qxF "$hba" "$pgdata/pg_hba.conf" || echo "$hba" >>"$pgdata/pg_hba.conf"
  done
  if runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" reload >/dev/null
    if ! listens "$NODE_GATEWAY" "$PG_PORT"; then
      log "restarting postgres to listen on $NODE_GATEWAY too"
      runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    fi
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    # A disposable local database: durability traded for speed (fsync off).
    runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" -l "$LOG_DIR/postgres.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1,$NODE_GATEWAY -c port=$PG_PORT -c unix_socket_directories=$sock \
       -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
       -c shared_buffers=256MB -c max_slot_wal_keep_size=2GB" >/dev/null 8>&-
  fi
  head -1 "$pgdata/postmaster.pid" >"$RUN_DIR/postgres.pid"
  wait_for postgres 30 "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  if ! PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U photostore -d postgres -Atqc \
      "select 1 from pg_database where datname='photostore'" | grep -q 1; then
    PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U photostore -d postgres -qc "create database photostore"
  fi
  start_postgres_replica
}

# A hot standby streaming from the primary through a physical replication slot, made by
# pg_basebackup once. The slot keeps at most max_slot_wal_keep_size of WAL for it.
start_postgres_replica() {
  local bin=/usr/lib/postgresql/15/bin pgdata="$DATA_DIR/postgres-replica" sock="$RUN_DIR/postgres"
  local psql=(env PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U photostore -d postgres -Atqc)
  "${psql[@]}" "select 1 from pg_replication_slots where slot_name = 'photostore_replica'" | grep -q 1 ||
    "${psql[@]}" "select pg_create_physical_replication_slot('photostore_replica')" >/dev/null
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    rm -rf "$pgdata"; mkdir -p "$pgdata"; chown postgres:postgres "$pgdata"; chmod 700 "$pgdata"
    runuser -u postgres -- env PGPASSWORD="$PG_PASSWORD" "$bin/pg_basebackup" -D "$pgdata" \
      -d "host=127.0.0.1 port=$PG_PORT user=photostore password=$PG_PASSWORD application_name=photostore_replica" \
      -S photostore_replica -X stream -R -c fast >>"$LOG_DIR/postgres-replica.log" 2>&1 ||
      { rm -rf "$pgdata"; die "pg_basebackup failed; see $LOG_DIR/postgres-replica.log"; }
  fi
  touch "$LOG_DIR/postgres-replica.log"; chown postgres "$LOG_DIR/postgres-replica.log"
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$pgdata" -l "$LOG_DIR/postgres-replica.log" -w -t 120 start -o \
      "-c listen_addresses=127.0.0.1,$NODE_GATEWAY -c port=$PG_REPLICA_PORT -c unix_socket_directories=$sock \
       -c max_connections=400 -c fsync=off -c full_page_writes=off -c shared_buffers=128MB \
       -c hot_standby=on -c hot_standby_feedback=on" >/dev/null 8>&-
  fi
  head -1 "$pgdata/postmaster.pid" >"$RUN_DIR/postgres-replica.pid"
  wait_for postgres-replica 60 "$bin/pg_isready" -h 127.0.0.1 -p "$PG_REPLICA_PORT"
}

start_redis() {
  mkdir -p "$DATA_DIR/redis"
  if running redis && ! listens "$NODE_GATEWAY" "$REDIS_PORT"; then
    redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" config set bind "127.0.0.1 $NODE_GATEWAY" >/dev/null
  fi
  spawn redis redis-server --bind "127.0.0.1 $NODE_GATEWAY" --port "$REDIS_PORT" --dir "$DATA_DIR/redis" \
    --requirepass "$REDIS_PASSWORD" --save "" --appendonly no --daemonize no
  wait_for redis 20 redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" ping
  start_redis_cluster
}

# Redis Cluster beside the single Redis: its nodes announce NODE_GATEWAY, which the host
# and pods both reach. Each node's config is RUN_DIR/redis-cluster-PORT.conf, so a test that
# stops one can start it again with `redis-server THAT_FILE`.
start_redis_cluster() {
  local port conf dir addrs=()
  for port in $(redis_cluster_ports); do
    dir="$DATA_DIR/redis-cluster/$port"; conf="$RUN_DIR/redis-cluster-$port.conf"
    mkdir -p "$dir"
    cat >"$conf" <<CONF
port $port
bind 127.0.0.1 $NODE_GATEWAY
dir $dir
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
cluster-announce-ip $NODE_GATEWAY
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
save ""
appendonly no
daemonize no
pidfile ""
CONF
    chmod 600 "$conf"
    spawn "redis-cluster-$port" redis-server "$conf"
    addrs+=("$NODE_GATEWAY:$port")
  done
  local cli=(redis-cli --no-auth-warning -a "$REDIS_PASSWORD")
  for port in $(redis_cluster_ports); do wait_for "redis-cluster-$port" 20 "${cli[@]}" -p "$port" ping; done
  if "${cli[@]}" -p "$REDIS_CLUSTER_PORT" cluster info | grep -q '^cluster_known_nodes:1'; then
    "${cli[@]}" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >>"$LOG_DIR/redis-cluster.log" 2>&1
  fi
  wait_for redis-cluster 60 redis_cluster_ok
}

# Three KRaft nodes, each broker and controller (a quorum of three voters), so that a topic
# with replication factor 3 and min.insync.replicas=2 is real and one broker may stop.
# Node i listens on KAFKA_PORT+100*(i-1) (host), +1 (controller) and +2 (pods, on NODE_GATEWAY).
kafka_conf() { # NODE_ID
  local id=$1 base=$((KAFKA_PORT + 100 * ($1 - 1))) voters=() j
  for j in $(seq 1 "$KAFKA_BROKERS"); do voters+=("$j@127.0.0.1:$((KAFKA_PORT + 100 * (j - 1) + 1))"); done
  cat <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://127.0.0.1:$base,NODE://$NODE_GATEWAY:$((base + 2)),CONTROLLER://127.0.0.1:$((base + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$base,NODE://$NODE_GATEWAY:$((base + 2))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,NODE:PLAINTEXT
log.dirs=$DATA_DIR/kafka-$id
num.partitions=1
default.replication.factor=$KAFKA_BROKERS
auto.create.topics.enable=true
offsets.topic.replication.factor=$KAFKA_BROKERS
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$KAFKA_BROKERS
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=$KAFKA_BROKERS
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
replica.lag.time.max.ms=10000
PROPS
}

kafka_java() {
  echo java -Xms128m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xshare:auto \
    "-Dlog4j2.configurationFile=$RUN_DIR/kafka-log4j2.properties" -cp "$KAFKA_HOME/libs/*"
}

start_kafka() {
  cat >"$RUN_DIR/kafka-log4j2.properties" <<'L4J'
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
L4J
  local java; read -ra java < <(kafka_java)
  local id layout="voters=$KAFKA_BROKERS"
  # An older layout (one broker) is not upgraded in place: its data is disposable.
  if [[ "$(cat "$DATA_DIR/kafka.layout" 2>/dev/null)" != "$layout" ]]; then
    for id in $(seq 1 "$KAFKA_BROKERS"); do stop "kafka-$id"; done
    stop kafka
    rm -rf "$DATA_DIR/kafka" "$DATA_DIR"/kafka-[0-9]* "$DATA_DIR/kafka.cluster-id"
    echo "$layout" >"$DATA_DIR/kafka.layout"
  fi
  [[ -f "$DATA_DIR/kafka.cluster-id" ]] ||
    openssl rand -base64 16 | tr '+/' '-_' | cut -c1-22 >"$DATA_DIR/kafka.cluster-id"
  local pids=()
  for id in $(seq 1 "$KAFKA_BROKERS"); do
    local conf="$RUN_DIR/kafka-$id.properties"
    kafka_conf "$id" >"$conf"
    if [[ ! -f "$DATA_DIR/kafka-$id/meta.properties" ]]; then
      "${java[@]}" kafka.tools.StorageTool format -t "$(cat "$DATA_DIR/kafka.cluster-id")" \
        -c "$conf" >>"$LOG_DIR/kafka-$id.log" 2>&1 & pids+=($!)
    fi
  done
  for id in "${pids[@]}"; do wait "$id"; done
  for id in $(seq 1 "$KAFKA_BROKERS"); do
    # Readiness is read from this start's log, so an earlier log is moved aside first.
    if ! running "kafka-$id" && [[ -f "$LOG_DIR/kafka-$id.log" ]]; then
      mv "$LOG_DIR/kafka-$id.log" "$LOG_DIR/kafka-$id.log.1"
    fi
    spawn "kafka-$id" "${java[@]}" kafka.Kafka "$RUN_DIR/kafka-$id.properties"
  done
  for id in $(seq 1 "$KAFKA_BROKERS"); do
    wait_for "kafka-$id" 120 grep -q "Kafka Server started" "$LOG_DIR/kafka-$id.log"
  done
}

start_s3() {
  mkdir -p "$DATA_DIR/s3"
  if running s3 && ! listens "$NODE_GATEWAY" "$S3_PORT"; then
    log "restarting s3 to listen on $NODE_GATEWAY too"
    stop s3
  fi
  spawn s3 "$VERSITYGW_BIN/versitygw" --access "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" \
    --port "127.0.0.1:$S3_PORT" --port "$NODE_GATEWAY:$S3_PORT" --region us-east-1 posix "$DATA_DIR/s3"
  wait_for s3 30 curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"
  mkdir -p "$DATA_DIR/s3/photos"
}

write_env_file() {
  cat >"$ENV_FILE.tmp" <<ENV
# Written by hack/env/up.sh: connection settings of the local environment.
KUBECONFIG=$VAR_DIR/kubeconfig
KUBECTL=$K8S_BIN/kubectl
HELM=$HELM_BIN/helm
PHOTOSTORE_DATABASE_URL=postgresql://photostore:$PG_PASSWORD@127.0.0.1:$PG_PORT/photostore
PHOTOSTORE_DATABASE_REPLICA_URL=postgresql://photostore:$PG_PASSWORD@127.0.0.1:$PG_REPLICA_PORT/photostore
PHOTOSTORE_REDIS_URL=redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0
PHOTOSTORE_REDIS_CLUSTER_NODES=$(redis_cluster_ports | sed "s/^/$NODE_GATEWAY:/" | paste -sd,)
PHOTOSTORE_KAFKA_BROKERS=$(kafka_addresses 127.0.0.1 0)
PHOTOSTORE_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
PHOTOSTORE_S3_REGION=us-east-1
PHOTOSTORE_S3_ACCESS_KEY=$S3_ACCESS_KEY
PHOTOSTORE_S3_SECRET_KEY=$S3_SECRET_KEY
PHOTOSTORE_S3_BUCKET=photos
# The real node (hack/env/node): pods need nodeSelector and a toleration for
# PHOTOSTORE_NODE_POOL (key=value) and imagePullPolicy Never for PHOTOSTORE_NODE_IMAGE.
PHOTOSTORE_NODE_NAME=$NODE_NAME
PHOTOSTORE_NODE_POOL=$NODE_POOL_KEY=$NODE_POOL_VALUE
PHOTOSTORE_NODE_IMAGE=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["repository"] + ":" + d["tag"])' "$ENV_DIR/node/image.json")
PHOTOSTORE_NODE_GATEWAY=$NODE_GATEWAY
PHOTOSTORE_CLUSTER_DNS=$NODE_GATEWAY
PHOTOSTORE_NODE_KAFKA_BROKERS=$(kafka_addresses "$NODE_GATEWAY" 2)
ENV
  chmod 600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

if "$ENV_DIR/status.sh" --quiet "${parts[@]}"; then
  # var/env is rewritten all the same: an older checkout's up.sh may have written it.
  # Helm joined the install step later: an environment already up still gets it (cached).
  wants kubernetes && "$ENV_DIR/build-k8s.sh" helm
  write_env_file
  log "already up: ${parts[*]}"; exit 0
fi

"$ENV_DIR/install-system.sh"
"$ENV_DIR/node/node.sh" bridge
# The image's build mostly downloads and unpacks: it overlaps the Go builds below.
if wants node; then "$ENV_DIR/node/build-image.sh" --no-import >/dev/null 8>&- & image_build=$!; fi
wants kafka && "$ENV_DIR/install-kafka.sh"
if wants kubernetes; then
  "$ENV_DIR/build-k8s.sh" all
  "$ENV_DIR/certs.sh"
  write_kubeconfig
elif wants s3; then
  "$ENV_DIR/build-k8s.sh" versitygw
fi

write_env_file
pids=()
for part in "${parts[@]}"; do
  [[ $part == node ]] && continue
  "start_$part" & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
((failed)) && die "some part failed to start; see $LOG_DIR"
# The node joins the control plane, so it starts once that is up.
if wants node; then
  wait "$image_build" || die "building the node's image failed; see $LOG_DIR/image-build.log"
  "$ENV_DIR/node/node.sh" up || die "the real node failed to start; see $LOG_DIR"
fi
log "up in $((SECONDS - start_time))s: ${parts[*]}"
