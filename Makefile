# mlopslab.monitoring: set-up, tests and the instructor's commands.
#
#   make setup quickstart   install everything (idempotent), then try the lab locally
#   make test               lint, unit, integration, molecule, cluster; stops at the first failure
#
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CHECKOV_VENV := .venv-checkov
# The oldest ansible-core meta/runtime.yml claims, for the installed-collection test.
OLDEST_VENV := .venv-oldest
# The current ansible-core releases, which need a newer Python than the project's (the machine's
# pyenv has 3.12 and 3.13): the installed-collection test runs on each.
CORE_VENVS := .venv-core-2.20 .venv-core-2.21
PYTHON_2.20 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python) $(shell command -v python3.12))
PYTHON_2.21 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python) $(shell command -v python3.13))
COLLECTIONS := .collections/ansible_collections
# Galaxy is unreachable on the course machines: kubernetes.core comes out of the `ansible`
# wheel on PyPI. ansible 12.3.0 is the newest for Python 3.11 and carries kubernetes.core 6.2.0.
ANSIBLE_BUNDLE := ansible==12.3.0
INVENTORY ?= inventory/cohort.yml
PYTEST := $(BIN)/python -m pytest

export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Go's own install directory last: the real-cluster tier builds with the Go the machine has, even
# where a login shell would have put it on PATH and CI's environment does not.
export PATH := $(BIN):$(PATH):/usr/local/go/bin
# The project's own Python must win over anything the user's shell has set.
unexport PYTHONPATH
# apt-get only when missing; sudo only when not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup quickstart test lint sanity unit integration molecule cluster test-cluster node test-node cluster-tools bench \
        deploy verify teardown access instructor-rights check-requirements ee-context clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- set-up
setup: $(VENV)/.installed $(COLLECTIONS)/kubernetes/core/MANIFEST.json \
       $(COLLECTIONS)/mlopslab/monitoring $(CHECKOV_VENV)/.installed $(OLDEST_VENV)/.installed \
       $(CORE_VENVS:%=%/.installed) \
       /usr/bin/promtool ## install everything the project needs (safe to rerun)
	@echo "setup: ok ($$($(BIN)/ansible --version | head -1), kubernetes.core $$($(BIN)/python -c 'import json;print(json.load(open("$(COLLECTIONS)/kubernetes/core/MANIFEST.json"))["collection_info"]["version"])'), $$(promtool --version 2>&1 | head -1))"

$(VENV)/.installed: requirements.txt requirements-dev.txt exporter/requirements.txt constraints.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	    -r requirements-dev.txt -c constraints.txt
	touch $@

$(COLLECTIONS)/kubernetes/core/MANIFEST.json: | $(VENV)/.installed
	mkdir -p .cache/wheels $(COLLECTIONS)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps \
	    -d .cache/wheels $(ANSIBLE_BUNDLE)
	$(BIN)/python tests/support/unpack_collection.py \
	    .cache/wheels/$(subst ==,-,$(ANSIBLE_BUNDLE))-py3-none-any.whl kubernetes.core $(COLLECTIONS)

# A live link, so edits in the working tree take effect without reinstalling.
$(COLLECTIONS)/mlopslab/monitoring:
	mkdir -p $(COLLECTIONS)/mlopslab
	ln -sfn ../../.. $@

# ansible-core as old as meta/runtime.yml says the collection runs on; nothing else of the project.
$(OLDEST_VENV)/.installed: requirements-oldest.txt
	[ -x $(OLDEST_VENV)/bin/python ] || $(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-oldest.txt
	touch $@

# An ansible-core release in a virtualenv of its own, with the Python it needs; without that
# Python it is left out with one line (the test then says it skipped that release), except on CI.
.venv-core-%/.installed: requirements-core-%.txt
	@python=$(PYTHON_$*); if [ -z "$$python" ]; then \
	    if [ "$${CI:-}" = true ]; then echo "setup: no Python for ansible-core $* (PYTHON_$*)" >&2; exit 1; fi; \
	    echo "setup: ansible-core $* left out: no Python 3.12/3.13 here (set PYTHON_$*)"; exit 0; fi; \
	[ -x .venv-core-$*/bin/python ] || $$python -m venv .venv-core-$*; \
	.venv-core-$*/bin/python -m pip install --quiet --disable-pip-version-check -r $< && touch $@

# checkov pins ~100 packages that clash with ansible-lint's: it gets a virtualenv of its own.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	[ -x $(CHECKOV_VENV)/bin/python ] || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	    -r requirements-checkov.txt
	touch $@

# Debian's prometheus gives promtool and the real server the tests scrape with.
/usr/bin/promtool:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus

quickstart: ## render the example cohort (no cluster needed), then run one lab locally and show its A/B metrics
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/deploy.yml -e mlopslab_apply=false
	$(BIN)/python -m tests.support.local_lab

# ---------------------------------------------------------------- tests
test: lint sanity unit integration molecule cluster node ## everything CI runs, in order, stopping at the first failure
	@echo "make test: all stages passed"

lint: ## ansible-lint (production profile), yamllint, ruff, argument_specs drift
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tests/support/lint_argument_specs.py
	@# The changelog as collections keep it: fragments and changelogs/changelog.yaml, from which
	@# CHANGELOG.md is generated (antsibull-changelog release), never edited by hand.
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	mkdir -p build && $(BIN)/antsibull-changelog generate --output build/CHANGELOG.md --output-format md
	@cmp -s build/CHANGELOG.md CHANGELOG.md || { echo "make: CHANGELOG.md differs from what changelogs/ generates: run antsibull-changelog generate"; exit 1; }
	@# Every module's, filter's and callback's documentation parses (ansible-doc exits 1 on a broken one).
	$(BIN)/ansible-doc -t module $(patsubst plugins/modules/%.py,mlopslab.monitoring.%,$(wildcard plugins/modules/*.py)) >/dev/null
	$(BIN)/ansible-doc -t filter $(patsubst plugins/filter/%.yml,mlopslab.monitoring.%,$(wildcard plugins/filter/*.yml)) >/dev/null
	$(BIN)/ansible-doc -t callback $(patsubst plugins/callback/%.py,mlopslab.monitoring.%,$(wildcard plugins/callback/*.py)) >/dev/null

# ansible-test sanity as a collection's CI runs it, without a container: its --venv, with the
# requirements it pins from PyPI, on a copy of the working tree laid out as ansible_collections/
# (tests/support/sanity.py). No ignore file: every finding is fixed.
sanity: ## ansible-test sanity (every test it has; no container needed)
	$(BIN)/python -m tests.support.sanity

# pytest exits 5 when it collected nothing: that means a broken path or marker, never a pass.
define run_pytest
	$(PYTEST) $(1) || { rc=$$?; [ $$rc -ne 5 ] || echo "make: no tests collected in $(1): treated as a failure"; exit $$rc; }
endef

unit: ## pure-function and exporter unit tests
	$(call run_pytest,tests/unit)

integration: ## real Prometheus, real exporter process, kmock API emulator, ansible-playbook runs
	@# One worker per core: each test has its own emulator, Prometheus and build folder.
	$(call run_pytest,tests/integration -n auto --dist worksteal)

# CI shows the tail of the output: on a failure, repeat the failed tasks' messages last.
molecule: ## every molecule scenario that runs without Docker
	mkdir -p build
	for s in $$(ls molecule | grep -vx kind); do \
	    $(BIN)/molecule test -s $$s 2>&1 | tee build/molecule-$$s.log; rc=$${PIPESTATUS[0]}; \
	    if [ $$rc -ne 0 ]; then echo "make: molecule scenario $$s failed; its failed tasks:"; \
	        sed 's/\x1b\[[0-9;]*m//g' build/molecule-$$s.log | grep -A12 'fatal:' | cut -c1-200; exit $$rc; fi; done

# ---------------------------------------------------------------- the real-cluster tier
# Upstream kube-apiserver + kube-controller-manager from the Go module proxy (one pinned release
# per tests/cluster/controlplane/<release>/go.mod), on Debian's etcd. CONTROLPLANE=v1.25 for the
# oldest release the preflight accepts; CI_FULL=1 runs the tier against both.
CONTROLPLANES := v1.36 $(if $(filter 1,$(CI_FULL)),v1.25)
# Go 1.26 or newer (the go.mod files ask for it; no toolchain is downloaded).
HAVE_GO := $(shell PATH='$(PATH)' go version 2>/dev/null | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1] > 1 || (v[1] == 1 && v[2] >= 26)) print "yes"}')

cluster-tools: /usr/bin/etcd ## build the real-cluster tier's control plane (Go >= 1.26; cached after the first time)
	@for release in $(CONTROLPLANES); do tests/cluster/controlplane/build.sh $$release; done

/usr/bin/etcd:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends etcd-server

# The real node's runtime: Debian's containerd and runc, the CNI reference plugins, iptables and
# conntrack for kube-proxy, busybox-static for the pause image.
/usr/bin/containerd:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    containerd runc containernetworking-plugins iptables conntrack busybox-static

# A real node (kubelet, kube-proxy, kube-scheduler, CoreDNS, containerd) joins a control plane
# started for the run; the lab runs in real containers, the course's failures happen for real.
# Needs root and the kernel's cgroups (a container with nearly every capability, as these
# machines are); elsewhere it is skipped with one line, except on CI.
NODE_RELEASE := v1.36
test-node: ## the real-node tier: the lab in real containers on a real kubelet
	@if [ "$$(id -u)" != 0 ] || [ "$(HAVE_GO)" != yes ]; then \
	    if [ "$${CI:-}" = true ]; then echo "test-node: root and Go >= 1.26 are needed on CI: the real node cannot be skipped there" >&2; exit 1; fi; \
	    echo "test-node: skipped: the real node needs root and Go >= 1.26"; exit 0; fi; \
	$(MAKE) cluster-tools /usr/bin/containerd; \
	version=$$(awk '$$1 == "require" && $$2 == "k8s.io/kubernetes" {print $$3}' tests/cluster/controlplane/$(NODE_RELEASE)/go.mod); \
	workdir=build/controlplane/$$version-node; \
	kubeconfig=$$($(BIN)/python -m tests.support.controlplane start --fresh --node real --version $$version --workdir $$workdir) || exit 1; \
	echo "test-node: Kubernetes $$version with a real node at $$kubeconfig"; \
	rc=0; MLOPSLAB_TEST_NODE_KUBECONFIG=$$kubeconfig $(PYTEST) -p no:kmock tests/node || rc=$$?; \
	$(BIN)/python -m tests.support.controlplane stop --workdir $$workdir; \
	$(BIN)/python -m tests.support.node check-clean $$workdir || rc=1; \
	[ $$rc -eq 0 ] || { echo "make: the real-node tier failed (logs: $$workdir/logs)"; exit $$rc; }

node: test-node

# Against MLOPSLAB_TEST_KUBECONFIG when it is set (any cluster; MLOPSLAB_TEST_KUBECONFIG_B names a
# second one for the two-cluster test); otherwise against two control planes built here, started
# for the run and stopped after it.
test-cluster: ## the real-cluster tier (a local control plane, or the cluster MLOPSLAB_TEST_KUBECONFIG names)
	@if [ -n "$${MLOPSLAB_TEST_KUBECONFIG:-}" ]; then \
	    echo "test-cluster: against $$MLOPSLAB_TEST_KUBECONFIG"; \
	    $(PYTEST) -p no:kmock tests/cluster || { rc=$$?; [ $$rc -ne 5 ] || echo "make: no tests collected in tests/cluster"; exit $$rc; }; \
	    exit 0; fi; \
	if [ "$(HAVE_GO)" != yes ]; then \
	    if [ "$${CI:-}" = true ]; then echo "test-cluster: Go >= 1.26 is missing on CI: the real tier cannot be skipped there" >&2; exit 1; fi; \
	    echo "test-cluster: skipped: no Go >= 1.26 to build the control plane and MLOPSLAB_TEST_KUBECONFIG is unset"; exit 0; fi; \
	$(MAKE) cluster-tools; \
	for release in $(CONTROLPLANES); do \
	    version=$$(awk '$$1 == "require" && $$2 == "k8s.io/kubernetes" {print $$3}' tests/cluster/controlplane/$$release/go.mod); \
	    workdir=build/controlplane/$$version; \
	    kubeconfig=$$($(BIN)/python -m tests.support.controlplane start --fresh --version $$version --workdir $$workdir) || exit 1; \
	    other=$$($(BIN)/python -m tests.support.controlplane start --fresh --version $$version --workdir $$workdir-b) \
	        || { $(BIN)/python -m tests.support.controlplane stop --workdir $$workdir; exit 1; }; \
	    echo "test-cluster: Kubernetes $$version at $$kubeconfig, and a second cluster at $$other"; \
	    rc=0; MLOPSLAB_TEST_KUBECONFIG=$$kubeconfig MLOPSLAB_TEST_KUBECONFIG_B=$$other $(PYTEST) -p no:kmock tests/cluster || rc=$$?; \
	    $(BIN)/python -m tests.support.controlplane stop --workdir $$workdir-b; \
	    $(BIN)/python -m tests.support.controlplane stop --workdir $$workdir; \
	    [ $$rc -eq 0 ] || { echo "make: the real-cluster tier failed on Kubernetes $$version (logs: $$workdir/logs)"; exit $$rc; }; \
	done

cluster: test-cluster

bench: setup .venv-bench/.installed /usr/bin/wrk ## benchmarks: print figures (not part of make test)
	@for b in $$(ls bench/*.py | grep -v baseline_); do echo "== $$b"; $(BIN)/python $$b; done

# The exporter bench's baseline needs scikit-learn and pandas: kept out of .venv on purpose.
.venv-bench/.installed: requirements-bench.txt exporter/requirements.txt
	[ -x .venv-bench/bin/python ] || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

/usr/bin/wrk:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk

# ---------------------------------------------------------------- instructor's commands
# Until a playbook exists its target says so and fails: no target pretends to work.
define run_playbook
	@[ -f playbooks/$(1).yml ] || { echo "make $(1): playbooks/$(1).yml is not written yet" >&2; exit 2; }
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/$(1).yml $(ARGS)
endef

deploy: ## provision or heal every student (ARGS="-e mlopslab_apply=false" to render only)
	$(call run_playbook,deploy)

verify: ## check the whole cohort and write a report
	$(call run_playbook,verify)

teardown: ## dry-run, or ARGS="-e mlopslab_teardown_confirm=<cohort>" to remove the cohort
	$(call run_playbook,teardown)

access: ## ARGS="-e mlopslab_access=revoke --limit user07" (or renew): one student's cluster access, the lab untouched
	$(call run_playbook,access)

# An execution environment for AWX / Automation Platform: the collection's artifact and
# ansible-builder's build context (no container engine needed here; build it where one runs).
EE_DIR := build/ee
ee-context: setup ## for AWX: build the collection and an execution environment's build context in build/ee
	rm -rf $(EE_DIR) && mkdir -p $(EE_DIR)
	$(BIN)/ansible-galaxy collection build --force --output-path $(EE_DIR) . >/dev/null
	mv $(EE_DIR)/mlopslab-monitoring-*.tar.gz $(EE_DIR)/mlopslab-monitoring.tar.gz
	$(BIN)/ansible-builder create --file execution-environment/execution-environment.yml \
	    --context $(EE_DIR)/context --output-filename Containerfile
	@echo "ee-context: podman build -f $(EE_DIR)/context/Containerfile -t mlopslab-ee $(EE_DIR)/context"

instructor-rights: ## for a cluster administrator: ARGS="-e mlopslab_instructor=<user>" binds the shipped ClusterRole
	$(call run_playbook,instructor_rights)

check-requirements: ## resolve lab-template/ with pip, no cluster (ARGS="-e requirements=path" for another file)
	$(call run_playbook,check_requirements)

clean: ## remove build outputs (keeps credentials)
	rm -rf build/manifests build/reports .pytest_cache .ruff_cache
