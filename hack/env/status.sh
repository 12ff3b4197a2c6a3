#!/usr/bin/env bash
# Reports each part of the local environment; exits non-zero when any part is down.
# --quiet: print nothing, only the exit status.
source "$(dirname "$0")/common.sh"
# Usage: status.sh [--quiet] [PART...] with PART among kubernetes postgres redis kafka s3 node.
quiet=0; [[ "${1:-}" == "--quiet" ]] && { quiet=1; shift; }
parts=("$@"); ((${#parts[@]})) || parts=("${ALL_PARTS[@]}")
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }
[[ -f "$ENV_FILE" ]] || { ((quiet)) || log "not started (no $ENV_FILE): run make env"; exit 1; }
set +e
source "$VAR_DIR/secrets"
kc="$VAR_DIR/kubeconfig"
down=0
check() { # NAME ENDPOINT COMMAND...
  local name=$1 where=$2; shift 2
  if "$@" >/dev/null 2>&1; then
    ((quiet)) || printf '  %-24s up    %s\n' "$name" "$where"
  else
    ((quiet)) || printf '  %-24s DOWN  %s (log: %s)\n' "$name" "$where" "$LOG_DIR/$name.log"
    down=1
  fi
}
alive() { [[ -f "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")"; }
((quiet)) || echo "PhotoStorage local environment (settings in $ENV_FILE):"
if wants kubernetes; then
  check etcd "http://127.0.0.1:$ETCD_PORT" curl -sf -m 5 "http://127.0.0.1:$ETCD_PORT/health"
  check kube-apiserver "https://127.0.0.1:$APISERVER_PORT (KUBECONFIG=$kc)" "$K8S_BIN/kubectl" --kubeconfig "$kc" --request-timeout 5s get --raw /readyz
  check kube-controller-manager "pid $(cat "$RUN_DIR/kube-controller-manager.pid" 2>/dev/null)" alive kube-controller-manager
  check kube-scheduler "pid $(cat "$RUN_DIR/kube-scheduler.pid" 2>/dev/null)" alive kube-scheduler
  check kwok "8 simulated nodes (4 with nvidia.com/gpu)" alive kwok
fi
# replica_streaming: the replica is in recovery and its WAL receiver streams from the primary.
replica_streaming() {
  [[ "$(PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U photostore -d postgres -Atqc \
    "select pg_is_in_recovery() and exists (select 1 from pg_stat_wal_receiver where status = 'streaming')" 2>/dev/null)" == t ]]
}
# kafka_broker ID: the broker's process lives and its listener answers.
kafka_broker() { alive "kafka-$1" && listens 127.0.0.1 $((KAFKA_PORT + 100 * ($1 - 1))); }
if wants postgres; then
  check postgres "127.0.0.1:$PG_PORT db photostore" /usr/lib/postgresql/15/bin/pg_isready -h 127.0.0.1 -p "$PG_PORT"
  check postgres-replica "127.0.0.1:$PG_REPLICA_PORT hot standby, streaming (slot photostore_replica)" replica_streaming
fi
if wants redis; then
  check redis "127.0.0.1:$REDIS_PORT" redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" ping
  check redis-cluster "$NODE_GATEWAY:$REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + REDIS_CLUSTER_NODES - 1)), 3 masters + 3 replicas" redis_cluster_ok
fi
if wants kafka; then
  for id in $(seq 1 "$KAFKA_BROKERS"); do
    check "kafka-$id" "127.0.0.1:$((KAFKA_PORT + 100 * (id - 1))) (KRaft broker and controller $id)" kafka_broker "$id"
  done
fi
wants s3 && check s3 "http://127.0.0.1:$S3_PORT bucket photos" curl -s -m 5 -o /dev/null "http://127.0.0.1:$S3_PORT/"
if wants node; then
  check containerd "$RUN_DIR/containerd/containerd.sock" alive containerd
  check kubelet "node $NODE_NAME on $NODE_GATEWAY" "$ENV_DIR/node/node.sh" status
  check kube-proxy "iptables mode" curl -sf -m 5 "http://127.0.0.1:$KUBE_PROXY_HEALTH_PORT/healthz"
  check coredns "cluster DNS on $NODE_GATEWAY:53" curl -sf -m 5 "http://127.0.0.1:$COREDNS_HEALTH_PORT/health"
  # What pods reach through the Services of the namespace photostore.
  pod_ports="$PG_PORT $PG_REPLICA_PORT $REDIS_PORT $REDIS_CLUSTER_PORT $(kafka_addresses "" 2 | tr -d : | tr , ' ') $S3_PORT"
  check servers-for-pods "$NODE_GATEWAY: postgres $PG_PORT (replica $PG_REPLICA_PORT), redis $REDIS_PORT (cluster $REDIS_CLUSTER_PORT), kafka $(kafka_addresses "" 2 | tr -d :), s3 $S3_PORT" \
    bash -c "source '$ENV_DIR/common.sh'; for p in $pod_ports; do listens $NODE_GATEWAY \$p || exit 1; done"
fi
if ((!quiet && !down)) && { wants kubernetes || wants node; }; then
  echo
  "$K8S_BIN/kubectl" --kubeconfig "$kc" get nodes -L accelerator -L "$NODE_POOL_KEY" 2>/dev/null
fi
if ((!quiet && !down)) && wants node; then
  echo
  echo "Services for pods (the host's servers on $NODE_GATEWAY):"
  "$K8S_BIN/kubectl" --kubeconfig "$kc" get services -n photostore -o wide 2>/dev/null
  # The photo APIs the operator runs (make demo's among them), reachable from this machine.
  apis=$("$K8S_BIN/kubectl" --kubeconfig "$kc" get services -A \
    -l app.kubernetes.io/component=api,app.kubernetes.io/managed-by=photostore-operator \
    -o jsonpath='{range .items[*]}  {.metadata.namespace}/{.metadata.name}: http://{.spec.clusterIP}:{.spec.ports[0].port}{"\n"}{end}' 2>/dev/null)
  if [[ -n "$apis" ]]; then
    echo
    echo "Photo APIs (ClusterIP, reachable from this machine through kube-proxy):"
    echo "$apis"
  fi
fi
exit $down
