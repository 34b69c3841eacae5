# The two commands of the README: `make demo` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
ROOT := $(abspath .)
PYTHON ?= python3
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
# Outside the work tree: inside it, ansible-test would take the repo's git index (where .build is ignored) and skip all.
BUILD ?= /tmp/stratovirt-qmp-build-$(shell printf %s '$(ROOT)' | md5sum | cut -c1-8)
COLLECTIONS := $(BUILD)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/stratovirt/qmp
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# The one place scripts (demo, galaxy check, benchmarks) find the simulator; pytest reads tests/pytest.ini.
SIMULATOR_PATH = $(COLLECTION)/roles/simulated_vm/files
export PATH := $(BIN):$(PATH)

.PHONY: demo test deps venv collection sanity lint docs-lint galaxy molecule pytest clean

demo: venv collection
	PYTHONPATH=$(COLLECTIONS):$(SIMULATOR_PATH) $(BIN)/python tests/demo/run_demo.py

test: deps venv collection sanity lint docs-lint galaxy molecule pytest

# Host packages: shellcheck for ansible-test sanity, iproute2 for the taps the tests create, QEMU as a second
# real QMP server for the client's tests.
deps:
	@missing=""; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v qemu-system-x86_64 >/dev/null || missing="$$missing qemu-system-x86"; \
	if [ -n "$$missing" ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# ansible-test wants a real ansible_collections/<ns>/<name> directory, not a symlink.
collection:
	rm -rf $(COLLECTION) && mkdir -p $(COLLECTION)
	git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(COLLECTION)

sanity: venv collection
	@pipv=$$($(BIN)/python -c "import os,re,ansible_test as a; print(re.search(r\"pip='([0-9.]+)'\", open(os.path.join(os.path.dirname(a.__file__),'_internal','python_requirements.py')).read()).group(1))"); \
	mkdir -p $$HOME/.ansible/test/cache && cp tests/utils/get_pip_shim.py $$HOME/.ansible/test/cache/get_pip_$${pipv//./_}.py
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --python 3.11 --local --color no

# The Ansible quality gates, each in the collection copy with ANSIBLE_COLLECTIONS_PATH pointing at it.
lint: venv collection
	cd $(COLLECTION) && $(BIN)/ansible-lint --offline

docs-lint: venv collection
	cd $(COLLECTION) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs . && $(BIN)/antsibull-changelog lint

# ansible-galaxy collection build, install of the tarball into a clean directory, the rollout from there.
galaxy: venv collection
	cd $(COLLECTION) && PYTHONPATH=$(SIMULATOR_PATH) $(BIN)/python tests/galaxy/installed_rollout.py

# The vm_devices role against simulated VMs on localhost (extensions/molecule/default).
molecule: venv collection
	cd $(COLLECTION) && $(BIN)/molecule test

pytest: venv collection
	cd $(COLLECTION) && PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -n 2 tests/unit tests/simulator tests/replay tests/integration

clean:
	rm -rf $(BUILD) $(VENV) .build
