# Synergos developer commands. `make demo` and `make test` work on a fresh Debian machine.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RABBITMQ_SERVER := /usr/lib/rabbitmq/bin/rabbitmq-server

.PHONY: install system-deps docker-deps test lint demo cluster-demo bench clean images docker-test lock

install: $(STAMP)

$(STAMP): setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

# Re-pin every package (constraints.txt) to the newest versions setup.py's ranges allow: a
# fresh environment installs the project with only the torch pin, and its versions replace the
# lines after the header. Then run `make test docker-test` before committing the new pins.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	sed -n '1,/^# rewrites the lines below/p' constraints.txt > build/constraints-header.txt
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	    -c build/constraints-header.txt -e '.[all,dev]'
	{ cat build/constraints-header.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable \
	    | grep -v '^torch=='; } > constraints.txt
	rm -rf $(LOCK_VENV)

# Debian packages the tests use, installed (never started) when missing: RabbitMQ backs the
# SynCluster tests, Chromium reads the RabbitMQ management UI headless. The container tests
# add Debian's Docker Engine and mmdebstrap (local base images where no registry answers).
SYSTEM_PACKAGES := rabbitmq-server:$(RABBITMQ_SERVER) chromium:/usr/bin/chromium
DOCKER_PACKAGES := docker.io:/usr/sbin/dockerd mmdebstrap:/usr/bin/mmdebstrap
# $(call install_missing,package:path ...): apt-get install each package whose path is missing
define install_missing
	@missing=""; for entry in $(1); do \
	  [ -x "$${entry#*:}" ] || missing="$$missing $${entry%%:*}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages: run 'sudo apt-get install$$missing'" >&2; exit 1; \
	  fi; \
	fi
endef

system-deps:
	$(call install_missing,$(SYSTEM_PACKAGES))

docker-deps:
	$(call install_missing,$(DOCKER_PACKAGES))

test: install system-deps
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m pytest

# Every role's image, on a machine with Docker Hub or without any registry (docs/deployment.md).
images:
	sh docker/build_images.sh

# The images built and run for real (root: it starts a private dockerd; Debian's docker.io).
docker-test: install docker-deps
	SYNERGOS_DOCKER_TEST=1 MLFLOW_DISABLE_TELEMETRY=true $(PY) -m pytest -q tests/containers

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

demo: install
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m examples.demo

# A SynCluster without Docker (RabbitMQ with its management UI, a Director, two cluster TTPs,
# four Workers); stays up until Ctrl-C so the UI can be browsed.
cluster-demo: install system-deps
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m examples.cluster_demo --keep

# Each script prints a Markdown table; docs/benchmarks.md holds the latest ones.
bench: install
	$(PY) bench/archive.py
	$(PY) bench/preprocess.py
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.round_overhead
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.model_size
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.cluster
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.cold_start
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.contribution
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.wire_bytes --rounds 5
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.wide_area  # needs root (network namespaces)
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.flower_deployment
	$(PY) -m bench.strategies_skew
	$(PY) -m bench.worker_tls
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m bench.sigterm_exit

clean:
	rm -rf $(VENV) build *.egg-info demo_run
