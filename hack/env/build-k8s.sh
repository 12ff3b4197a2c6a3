#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, and for the
# real node kubelet, kube-proxy and CoreDNS, from the Go module proxy. k8s.io/kubernetes is not meant to be used as a module:
# its go.mod points every k8s.io staging module at ./staging, which a dependent ignores, so
# a wrapper module replaces each of them with the published v0.<minor>.<patch> tag.
source "$(dirname "$0")/common.sh"

# One build at a time: a second caller waits for the first, then finds the binaries built.
# Taken only when something is missing, so a cached run never waits.
take_build_lock() {
  [[ -n "${BUILD_LOCK_HELD:-}" ]] && return
  mkdir -p "$PHOTOSTORE_CACHE"
  exec 9>"$PHOTOSTORE_CACHE/build.lock"
  flock 9
  BUILD_LOCK_HELD=1
}

build_kubernetes() {
  local out="$K8S_BIN"
  local wanted=("$@") cmd missing=0
  for cmd in "${wanted[@]}"; do [[ -x "$out/$cmd" ]] || missing=1; done
  ((missing)) || { log "${wanted[*]} $K8S_VERSION already built in $out"; return; }
  take_build_lock
  local work="$PHOTOSTORE_CACHE/k8s-$K8S_VERSION/src"
  mkdir -p "$work" "$out"
  local staging_version="v0.${K8S_VERSION#v1.}"
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  local upstream_mod="$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
  {
    echo "module photostore.local/k8sbuild"
    echo
    echo "go $(awk '/^go /{print $2; exit}' "$upstream_mod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    awk -v v="$staging_version" '/=> \.\/staging/{print "\t" $1 " => " $1 " " v}' "$upstream_mod"
    echo ")"
  } >"$work/go.mod"
  local major=${K8S_VERSION#v}; major=${major%%.*}
  local minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
    -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
    -X k8s.io/client-go/pkg/version.gitMajor=$major -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (
    cd "$work"
    for cmd in "${wanted[@]}"; do
      [[ -x "$out/$cmd" ]] && continue
      log "building $cmd $K8S_VERSION (cold: many minutes)"
      local started=$SECONDS
      go get "k8s.io/kubernetes/cmd/$cmd@$K8S_VERSION" >/dev/null 2>&1 || true
      go build -trimpath -ldflags "$ldflags" -o "$out/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
      mv "$out/$cmd.tmp" "$out/$cmd"
      log "built $cmd in $((SECONDS - started))s"
    done
  )
}

build_etcd() {
  local out="$ETCD_BIN"
  [[ -x "$out/etcd" ]] && { log "etcd $ETCD_VERSION already built"; return; }
  take_build_lock
  local work="$PHOTOSTORE_CACHE/etcd-$ETCD_VERSION/src"
  mkdir -p "$work" "$out"
  printf 'module photostore.local/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  (
    cd "$work"
    log "building etcd $ETCD_VERSION"
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || true
    go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$out/etcd.tmp" "$out/etcd"
  )
}

# CoreDNS with only the plugins the environment's Corefile uses: a main package that imports
# them and sets the plugin order, the way CoreDNS documents custom builds. The cloud plugins'
# SDKs are never compiled, which makes the cold build much shorter.
build_coredns() {
  local out="$COREDNS_BIN"
  [[ -x "$out/coredns" ]] && { log "coredns $COREDNS_VERSION already built"; return; }
  take_build_lock
  local work="$PHOTOSTORE_CACHE/coredns-$COREDNS_VERSION/src" started=$SECONDS
  mkdir -p "$work" "$out"
  cp "$ENV_DIR/node/coredns-main.go" "$work/main.go"
  printf 'module photostore.local/corednsbuild\n\ngo 1.26\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >"$work/go.mod"
  (
    cd "$work"
    log "building coredns $COREDNS_VERSION"
    go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1 || true
    go mod tidy >/dev/null 2>&1 || true
    go build -trimpath -ldflags "-s -w" -o "$out/coredns.tmp" .
    mv "$out/coredns.tmp" "$out/coredns"
  )
  log "built coredns in $((SECONDS - started))s"
}

# Helm, for the chart under charts/: `go install` of its command with the version stamped the
# way Helm's own Makefile does, so that `helm version` names it.
build_helm() {
  local out="$HELM_BIN" started=$SECONDS
  [[ -x "$out/helm" ]] && { log "helm $HELM_VERSION already built"; return; }
  take_build_lock
  [[ -x "$out/helm" ]] && return
  mkdir -p "$out"
  log "building helm $HELM_VERSION"
  GOBIN="$out" GOFLAGS=-buildvcs=false go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  log "built helm in $((SECONDS - started))s"
}

go_install() { # NAME VERSION PACKAGE OUTDIR
  local name=$1 version=$2 pkg=$3 out=$4
  [[ -x "$out/$name" ]] && { log "$name $version already built"; return; }
  take_build_lock
  mkdir -p "$out"
  log "building $name $version"
  GOBIN="$out" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "$pkg@$version"
}

case "${1:-all}" in
  etcd) build_etcd ;;
  kubernetes) build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
  node) build_kubernetes kubelet kube-proxy; build_coredns ;;
  coredns) build_coredns ;;
  helm) build_helm ;;
  kwok) go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "$KWOK_BIN" ;;
  versitygw) go_install versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_BIN" ;;
  all)
    build_etcd
    go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "$KWOK_BIN"
    go_install versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_BIN"
    build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl
    build_helm
    ;;
  *) die "usage: $0 [all|etcd|kubernetes|node|coredns|kwok|versitygw|helm]" ;;
esac
