#!/usr/bin/env bash
# Installs the servers that Debian packages: PostgreSQL 15 with PostGIS (pg_trgm ships in
# postgresql-15), Redis, the real node's container runtime (containerd, runc, the CNI
# plugins, iptables for kube-proxy), and the tools the scripts use (mmdebstrap builds the
# image's rootfs, gcc the pause program). Skips what is already there.
source "$(dirname "$0")/common.sh"
need=()
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need+=(postgresql-15)
[[ -f /usr/share/postgresql/15/extension/postgis.control ]] || need+=(postgresql-15-postgis-3)
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v gcc >/dev/null || need+=(gcc)
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || need+=(libc6-dev)
((${#need[@]} == 0)) && exit 0
log "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start their own default instances; ours run on other ports, theirs are not needed.
service postgresql stop >/dev/null 2>&1 || true
service redis-server stop >/dev/null 2>&1 || true
