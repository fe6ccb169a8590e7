#!/usr/bin/env bash
# Build upstream kube-apiserver and kube-controller-manager of the release that
# tests/cluster/controlplane/<release>/go.mod names, from the Go module proxy, into
# .cache/controlplane/<version>/bin. Cached: a second run only checks that the binaries
# report the pinned version (a few seconds); Go's own caches make a rebuild incremental.
#   usage: build.sh <release dir, e.g. v1.36>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
moddir="$here/${1:?usage: build.sh v1.36}"
[ -f "$moddir/go.mod" ] || { echo "build.sh: no go.mod in $moddir" >&2; exit 2; }
command -v go >/dev/null || { echo "build.sh: Go is not installed (the tier needs Go >= 1.26: apt-get install golang-go or the Go toolchain)" >&2; exit 2; }

version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$moddir/go.mod")
out="$repo/.cache/controlplane/$version/bin"
# The real node's binaries where this release's tools.go names them (v1.36: kubelet, kube-proxy,
# kube-scheduler, kubectl for the student's commands), and CoreDNS from its own module.
tools=(kube-apiserver kube-controller-manager)
for cmd in kubelet kube-proxy kube-scheduler kubectl; do
    grep -q "k8s.io/kubernetes/cmd/$cmd\"" "$moddir/tools.go" && tools+=("$cmd")
done
coredns_dir="$here/../node/coredns"
up_to_date=yes
for tool in "${tools[@]}"; do [ -x "$out/$tool" ] || up_to_date=no; done
"$out/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $version" || up_to_date=no
if [ "${#tools[@]}" -gt 2 ] && [ ! -x "$out/coredns" ]; then up_to_date=no; fi
if [ "$up_to_date" = yes ]; then
    echo "build.sh: $version up to date in $out" >&2
    exit 0
fi

# As upstream's hack/lib/version.sh stamps a release build: /version must name the release,
# or the preflight's version floor (and every client's skew check) sees v0.0.0.
cd "$moddir"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
info=$(go mod download -json "k8s.io/kubernetes@$version")
commit=$(printf '%s' "$info" | sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -1)
date=$(printf '%s' "$info" | sed -n 's/.*"Time": "\([^"]*\)".*/\1/p' | head -1)
minor=$(echo "$version" | cut -d. -f2)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date:-unknown}"
done
start=$(date +%s)
mkdir -p "$out"
go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$out/" "${tools[@]/#/k8s.io/kubernetes/cmd/}"
if [ "${#tools[@]}" -gt 2 ]; then
    (cd "$coredns_dir" && go build -trimpath -ldflags "-s -w" -o "$out/coredns" github.com/coredns/coredns)
fi
echo "build.sh: built ${tools[*]} $version in $(( $(date +%s) - start )) s: $out" >&2
"$out/kube-apiserver" --version >&2
