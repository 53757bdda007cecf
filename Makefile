# Both entry points bootstrap their own virtual environment on a fresh machine.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test screenshots bench bench-peers serve cluster clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "kataview needs Python 3.11 or newer on PATH"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/kataview --demo

serve: $(STAMP)
	$(VENV)/bin/kataview demo --serve

# a real kube-apiserver + etcd (built from pinned Go modules, cached in .realparts/) with the demo
# scenario; Ctrl-C stops it. CLUSTER_ARGS="--nodes 100 --pods 3000" loads a generated one.
cluster: $(STAMP)
	$(VENV)/bin/python -m realparts.cluster $(CLUSTER_ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

screenshots: $(STAMP)
	$(VENV)/bin/python -m kataview.ui.screenshots screenshots

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py

# kataview, k9s v0.50.16 and kubectl side by side on the real kube-apiserver (realparts/build
# kube-apiserver etcd k9s first); writes bench/PEERS.md. PEERS_ARGS="--sizes 1000,10000" for less.
bench-peers: $(STAMP)
	$(VENV)/bin/python bench/peers.py $(PEERS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
