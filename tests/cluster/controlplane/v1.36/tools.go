//go:build tools

// Package controlplane only names what `make cluster-tools` builds, so `go mod tidy` keeps it:
// the control plane, and the real node (kubelet, kube-proxy, kube-scheduler) of the same release.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
