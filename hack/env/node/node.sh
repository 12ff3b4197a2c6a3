#!/usr/bin/env bash
# The environment's one real node, beside the kwok nodes: containerd + runc, a kubelet
# registered as NODE_NAME, kube-proxy (iptables), CoreDNS for cluster DNS, and Services in the
# namespace `photostore` for the host's PostgreSQL, Redis, Kafka and S3.
# Pods reach the host at NODE_GATEWAY, the address of the bridge NODE_BRIDGE.
# Usage: node.sh bridge|runtime|up|down|bridge-down|status
source "$(dirname "$0")/../common.sh"
NODE_ENV_DIR="$ENV_DIR/node"
PKI="$VAR_DIR/pki"
KC="$VAR_DIR/kubeconfig"
NODE_RUN="$RUN_DIR/node"
CONTAINERD_SOCK="$RUN_DIR/containerd/containerd.sock"
KUBELET_DIR="$DATA_DIR/kubelet"
PAUSE_IMAGE=photostore.local/pause:1
kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$KC" "$@"; }
ctr_k8s() { ctr -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# The bridge exists before any server starts, so that they can listen on its address.
bridge_up() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
  fi
  [[ "$(ip -4 -o addr show dev "$NODE_BRIDGE")" == *" $NODE_GATEWAY/"* ]] \
    || ip addr add "$NODE_GATEWAY/${NODE_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  # kube-proxy's rules must see traffic between two pods of the bridge (a pod calling a
  # Service whose endpoint is another pod).
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
  return 0
}

# put FILE: write stdin to FILE unless FILE holds it already; kube-proxy exits when its
# config file changes, so an unchanged one is never rewritten.
put() {
  local new; new=$(cat)
  [[ -f "$1" && "$(cat "$1")" == "$new" ]] && return
  printf '%s\n' "$new" >"$1.tmp"
  mv "$1.tmp" "$1"
}

write_configs() {
  mkdir -p "$NODE_RUN/cni" "$RUN_DIR/containerd" "$DATA_DIR/containerd" "$KUBELET_DIR"
  put "$NODE_RUN/containerd.toml" <<TOML
version = 2
root = "$DATA_DIR/containerd"
state = "$RUN_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: runc may not lower oom_score_adj below its own.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_RUN/cni"
TOML
  put "$NODE_RUN/cni/10-photostore.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "photostore",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$DATA_DIR/cni-ipam",
        "ranges": [[{"subnet": "$NODE_CIDR", "gateway": "$NODE_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  kubeconfig_for "$NODE_RUN/kubelet.kubeconfig" "$PKI/kubelet-client.crt" "$PKI/kubelet-client.key"
  put "$NODE_RUN/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts cgroup v1, has no systemd, and has swap settings the kubelet dislikes.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_GATEWAY
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTH_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$NODE_GATEWAY]
resolvConf: /etc/resolv.conf
registerWithTaints:
- {key: $NODE_POOL_KEY, value: $NODE_POOL_VALUE, effect: NoSchedule}
maxPods: 40
serializeImagePulls: false
# Images are imported, never pulled: garbage-collecting them would lose them for good.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
nodeStatusReportFrequency: 20s
shutdownGracePeriod: 0s
YAML
  put "$NODE_RUN/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $NODE_NAME
clientConnection: {kubeconfig: $KC}
clusterCIDR: $NODE_CIDR
bindAddress: $NODE_GATEWAY
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTH_PORT
metricsBindAddress: 127.0.0.1:10249
# NodePorts on the bridge address only: nothing on the host's loopback or eth0.
nodePortAddresses: [$NODE_GATEWAY/32]
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  put "$NODE_RUN/Corefile" <<COREFILE
.:53 {
    bind $NODE_GATEWAY
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KC
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loadbalance
}
COREFILE
}

kubeconfig_for() { # FILE CERT KEY
  put "$1" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: photostore-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: node
  user: {client-certificate: "$2", client-key: "$3"}
contexts:
- name: node
  context: {cluster: photostore-local, user: node}
current-context: node
KCFG
}

# The sandbox image: a static C program, built and imported once.
import_pause() {
  grep -qx "$PAUSE_IMAGE" <(ctr_k8s images ls -q) && return
  local cache="$PHOTOSTORE_CACHE/image/pause"
  mkdir -p "$cache/root"
  if [[ ! -f "$cache/pause.tar" ]]; then
    gcc -static -Os -s -o "$cache/root/pause" "$NODE_ENV_DIR/pause.c"
    tar --owner=0 --group=0 -C "$cache/root" -cf "$cache/layer.tar" pause
    python3 "$NODE_ENV_DIR/oci_archive.py" --config "$NODE_ENV_DIR/pause.json" --out "$cache/pause.tar.tmp" "$cache/layer.tar"
    mv "$cache/pause.tar.tmp" "$cache/pause.tar"
  fi
  ctr_k8s images import "$cache/pause.tar" >/dev/null
}

# Services without selectors whose endpoints are the host's servers on NODE_GATEWAY, so that
# pods use postgres.photostore.svc:5432 and the like, as the sample PhotoStorage says.
apply_services() {
  {
    echo "apiVersion: v1"
    echo "kind: Namespace"
    echo "metadata: {name: photostore}"
    local name port target
    local entries=("postgres 5432 $PG_PORT" "postgres-replica 5432 $PG_REPLICA_PORT" "redis 6379 $REDIS_PORT"
      "redis-cluster 6379 $REDIS_CLUSTER_PORT" "s3 80 $S3_PORT" "kafka 9092 $KAFKA_NODE_PORT")
    # kafka-1..3 reach each broker; kafka (broker 1) bootstraps. Brokers advertise NODE_GATEWAY.
    for i in $(seq 1 "$KAFKA_BROKERS"); do entries+=("kafka-$i 9092 $((KAFKA_NODE_PORT + 100 * (i - 1)))"); done
    for entry in "${entries[@]}"; do
      read -r name port target <<<"$entry"
      cat <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: photostore, labels: {app.kubernetes.io/managed-by: photostore-env}}
spec:
  ports: [{name: $name, port: $port, targetPort: $target, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-host
  namespace: photostore
  labels: {kubernetes.io/service-name: $name, endpointslice.kubernetes.io/managed-by: photostore-env}
addressType: IPv4
endpoints: [{addresses: ["$NODE_GATEWAY"], conditions: {ready: true}}]
ports: [{name: $name, port: $target, protocol: TCP}]
YAML
    done
  } | kubectl apply --server-side --force-conflicts --field-manager photostore-env -f - >/dev/null
}

node_ready() {
  [[ "$(kubectl --request-timeout 5s get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# containerd with the pause image and the project's image.
runtime_up() {
  bridge_up
  write_configs
  spawn containerd containerd --config "$NODE_RUN/containerd.toml" --log-level warn
  wait_for containerd 30 ctr -a "$CONTAINERD_SOCK" version
  import_pause
  "$NODE_ENV_DIR/build-image.sh" >/dev/null
}

node_up() {
  local started=$SECONDS
  "$ENV_DIR/build-k8s.sh" node
  "$ENV_DIR/certs.sh"
  runtime_up
  wait_for kube-apiserver 120 kubectl get --raw /readyz
  apply_services
  spawn coredns "$COREDNS_BIN/coredns" -conf "$NODE_RUN/Corefile"
  spawn kube-proxy "$K8S_BIN/kube-proxy" --config "$NODE_RUN/kube-proxy.yaml" --v 1
  spawn kubelet "$K8S_BIN/kubelet" --config "$NODE_RUN/kubelet.yaml" \
    --kubeconfig "$NODE_RUN/kubelet.kubeconfig" --root-dir "$KUBELET_DIR" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_GATEWAY" \
    --node-labels "$NODE_POOL_KEY=$NODE_POOL_VALUE" --v 1
  wait_for coredns 30 curl -sf -m 5 "http://127.0.0.1:$COREDNS_HEALTH_PORT/health"
  # Healthy once its first sync wrote the Services' rules: until then no ClusterIP answers.
  wait_for kube-proxy 60 curl -sf -m 5 "http://127.0.0.1:$KUBE_PROXY_HEALTH_PORT/healthz"
  wait_for "node $NODE_NAME Ready" 120 node_ready
  log "node $NODE_NAME up in $((SECONDS - started))s"
}

# Everything node_up made, in reverse, leaving only the bridge (bridge-down removes it last).
node_down() {
  set +e
  stop kubelet
  if [[ -x "$K8S_BIN/kubectl" && -f "$KC" ]]; then
    kubectl delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1
  fi
  stop coredns
  stop kube-proxy
  [[ -x "$K8S_BIN/kube-proxy" ]] && "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1
  remove_chains iptables
  remove_chains ip6tables
  if running containerd; then
    local c
    for c in $(ctr_k8s containers ls -q 2>/dev/null); do
      ctr_k8s tasks kill -s KILL "$c" >/dev/null 2>&1
      ctr_k8s tasks delete -f "$c" >/dev/null 2>&1
      ctr_k8s containers delete "$c" >/dev/null 2>&1
    done
  fi
  stop containerd
  # Shims outlive containerd; those of this containerd name its socket in their arguments.
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK"); do kill -KILL "$pid"; done
  # The kubelet bind-mounts its root dir onto itself; pods' volumes and containerd's
  # sandboxes are mounted below it and the state dir.
  local m
  for m in $(awk -v a="$KUBELET_DIR" -v b="$RUN_DIR/containerd" -v c="$DATA_DIR/containerd" \
      '$5 ~ "^"a || $5 ~ "^"b || $5 ~ "^"c {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m"
  done
  # The kubelet's cgroups (cgroupfs driver), deepest first.
  local d
  for d in /sys/fs/cgroup/*/kubepods; do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  # Pod network namespaces that containerd pinned under /run/netns.
  local ns
  for ns in /run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    umount "$ns" 2>/dev/null; rm -f "$ns"
  done
  rm -rf "$DATA_DIR/cni-ipam" "$RUN_DIR/containerd/state"
  set -e
}

# remove_chains IPTABLES: the chains the kubelet (KUBE-FIREWALL and its canaries) and the
# CNI portmap plugin (CNI-HOSTPORT-*, CNI-DN-*) add, and the rules that jump into them;
# kube-proxy --cleanup removes its own.
remove_chains() {
  local ipt=$1 table rule chain ours='^(KUBE-FIREWALL|KUBE-KUBELET-CANARY|KUBE-IPTABLES-HINT|CNI-HOSTPORT-[A-Z]+|CNI-DN-[0-9a-f]+)$'
  command -v "$ipt" >/dev/null || return 0
  for table in filter nat mangle; do
    while read -r rule; do
      eval "$ipt -t $table ${rule/#-A/-D}"
    done < <("$ipt" -t "$table" -S 2>/dev/null | awk -v re="$ours" '$1 == "-A" { for (i = 2; i < NF; i++) if ($i == "-j" && $(i + 1) ~ re) { print; next } }')
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk -v re="$ours" '$1 == "-N" && $2 ~ re { print $2 }'); do
      "$ipt" -t "$table" -F "$chain"
    done
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk -v re="$ours" '$1 == "-N" && $2 ~ re { print $2 }'); do
      "$ipt" -t "$table" -X "$chain"
    done
  done
}

bridge_down() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && ip link delete "$NODE_BRIDGE"
  # Veth ends the CNI plugin made go with their pods; any left over go with the bridge.
  return 0
}

node_status() { running kubelet && node_ready; }

case "${1:-}" in
  bridge) bridge_up ;;
  runtime) runtime_up ;;
  up) node_up ;;
  down) node_down ;;
  bridge-down) bridge_down ;;
  status) node_status ;;
  services) apply_services ;;
  *) die "usage: $0 bridge|runtime|up|down|bridge-down|status|services" ;;
esac
