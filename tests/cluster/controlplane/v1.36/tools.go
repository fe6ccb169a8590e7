//go:build tools

// Package controlplane only names what `make cluster-tools` builds, so `go mod tidy` keeps it.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
