//go:build tools

// Package coredns only names what `make cluster-tools` builds for the real node: the cluster's
// DNS (the lab's Prometheus scrapes metrics-exporter:8000 by its Service name).
package coredns

import _ "github.com/coredns/coredns"
