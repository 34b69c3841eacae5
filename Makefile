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
# ansible-core lines tested besides the newest (2.19, in the main virtualenv): each pins its release in
# tests/requirements/ansible-core-<line>.txt and gets a virtualenv of its own.
OLDER_CORES := 2.16 2.17 2.18
OLDEST_CORE := 2.16
TIMES := $(BUILD)/times.txt
TIMED := $(ROOT)/tests/utils/timed $(TIMES)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
# Several gates read the same copies at once: no .pyc appears under them.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo bench bench-density test test-real checks deps venv collection sanity lint docs-lint style galaxy molecule pytest integration clean \
	$(addprefix integration-,$(OLDER_CORES)) sanity-$(OLDEST_CORE)

# The demo needs ansible-core and the collection only: ansible-core into .venv (make test adds its toolchain there
# later), the collection installed into ./collections by ansible-galaxy, as a user would install it. Nothing goes
# to $(BUILD); the demo's VMs, images and taps are gone when it ends.
DEMO_COLLECTIONS := $(ROOT)/collections
demo: $(VENV)/.demo-installed
	rm -rf $(DEMO_COLLECTIONS)/ansible_collections/stratovirt/qmp
	ANSIBLE_COLLECTIONS_PATH=$(DEMO_COLLECTIONS) $(BIN)/ansible-galaxy collection install --force -p $(DEMO_COLLECTIONS) . >/dev/null
	ANSIBLE_COLLECTIONS_PATH=$(DEMO_COLLECTIONS) $(BIN)/python tests/demo/run_demo.py $(VENV) $(DEMO_COLLECTIONS)

$(VENV)/.demo-installed: requirements-demo.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-demo.txt
	touch $@

# Benchmarks print figures (docs/benchmarks.md); they are not tests. BENCH_FLEET / BENCH_NOOP: their options.
BENCH_FLEET ?= --vms 10 50 100 --devices 3
BENCH_NOOP ?= --runs 5
bench: venv collection
	PYTHONPATH=$(COLLECTIONS):$(call simulator_of,collections) $(BIN)/python tests/bench/bench_fleet.py $(BENCH_FLEET)
	PYTHONPATH=$(COLLECTIONS):$(call simulator_of,collections) $(BIN)/python tests/bench/bench_noop.py $(BENCH_NOOP)

# Density: 100, 500 and 1,000 micro VMs on this host (simulated; BENCH_STRATOVIRT=<binary> for real ones), about
# 11 MB of memory per simulated VM. BENCH_DENSITY: its options (--workers 1 4 16 64 compares worker counts).
BENCH_DENSITY ?= --vms 100 500 1000
bench-density: venv collection
	PYTHONPATH=$(COLLECTIONS):$(call simulator_of,collections) $(BIN)/python tests/bench/bench_density.py $(BENCH_DENSITY) \
	  $(if $(BENCH_STRATOVIRT),--stratovirt $(BENCH_STRATOVIRT))

# The gates run three at a time (2 cores; the replay and the playbook runs wait on I/O part of the time), the
# longest first; each prints its output when it ends. Then: whether the run left a tap or a simulator on the
# host (it must not), the per-step times, and pytest's summary again.
test:
	@tests/utils/timed --start $(TIMES)
	@$(TIMED) deps $(MAKE) --no-print-directory deps
	@$(TIMED) virtualenvs $(MAKE) --no-print-directory -j3 venv $(addprefix core-venv-,$(OLDER_CORES))
	@tests/utils/host_state save $(BUILD)/host-before.txt
	@$(MAKE) --no-print-directory -k -j3 --output-sync=target checks; status=$$?; \
	  tests/utils/host_state check $(BUILD)/host-before.txt || status=1; \
	  tests/utils/timed --table $(TIMES); grep -h -E '^=+ .*(passed|failed).* in [0-9.]+s' $(BUILD)/pytest.log; exit $$status

checks: pytest sanity sanity-$(OLDEST_CORE) integration $(addprefix integration-,$(OLDER_CORES)) molecule galaxy lint docs-lint style

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

$(VENV)/.installed: requirements-dev.txt requirements-demo.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

core-venv-%: $(BUILD)/core-%/.installed ;
.PRECIOUS: $(BUILD)/core-%/.installed

$(BUILD)/core-%/.installed: tests/requirements/ansible-core-%.txt
	[ -x $(BUILD)/core-$*/bin/python ] || $(PYTHON) -m venv $(BUILD)/core-$*
	$(BUILD)/core-$*/bin/pip install -q --disable-pip-version-check -r $<
	touch $@

# ansible-test wants a real ansible_collections/<ns>/<name> directory, not a symlink; each gate that writes into
# its copy (tests/output) gets one of its own: $(call copy_of,NAME) -> the collection directory of copy NAME.
collection:
	$(call make_copy,collections)

copy_of = $(BUILD)/$(1)/ansible_collections/stratovirt/qmp
# A HOME of its own per gate: concurrent ansible-test runs otherwise race on ~/.ansible/test (its SSH key, its
# sanity virtualenvs) and ansible-lint/molecule on ~/.cache. Kept between runs; pip's download cache stays shared.
home_of = mkdir -p $(BUILD)/homes/$(1) && HOME=$(BUILD)/homes/$(1) PIP_CACHE_DIR=$(PIP_CACHE)
PIP_CACHE := $(HOME)/.cache/pip
# Where Python scripts find the simulator package (pytest reads tests/pytest.ini instead).
simulator_of = $(call copy_of,$(1))/roles/simulated_vm/files
define make_copy
rm -rf $(BUILD)/$(1) && mkdir -p $(call copy_of,$(1)) && git ls-files -z -co --exclude-standard \
  | tar --null -T - -cf - | tar -xf - -C $(call copy_of,$(1))
endef

# ansible-test fetches get-pip from a host this machine cannot reach: seed its cache with the ensurepip stand-in,
# for the pip release that this ansible-test asks for ($(1): its python).
define seed_get_pip
pipv=$$($(1) -c "import os,re,ansible_test as a; print(re.search(r\"pip='([0-9.]+)'\", open(os.path.join(os.path.dirname(a.__file__),'_internal','python_requirements.py')).read()).group(1))"); \
mkdir -p $(BUILD)/homes/$(2)/.ansible/test/cache && cp tests/utils/get_pip_shim.py $(BUILD)/homes/$(2)/.ansible/test/cache/get_pip_$${pipv//./_}.py
endef

sanity: venv
	@$(call make_copy,sanity)
	@$(call seed_get_pip,$(BIN)/python,sanity)
	cd $(call copy_of,sanity) && $(call home_of,sanity) $(TIMED) sanity-2.19 $(BIN)/ansible-test sanity --python 3.11 --local --color no

sanity-$(OLDEST_CORE): core-venv-$(OLDEST_CORE)
	@$(call make_copy,sanity-$(OLDEST_CORE))
	@$(call seed_get_pip,$(BUILD)/core-$(OLDEST_CORE)/bin/python,sanity-$(OLDEST_CORE))
	cd $(call copy_of,sanity-$(OLDEST_CORE)) && $(call home_of,sanity-$(OLDEST_CORE)) \
	  $(TIMED) sanity-$(OLDEST_CORE) $(BUILD)/core-$(OLDEST_CORE)/bin/ansible-test sanity --python 3.11 --local --color no

# The targets of tests/integration/targets/ (destructive: they make taps and start simulated VMs), per ansible-core.
integration: venv
	@$(call make_copy,integration-2.19)
	cd $(call copy_of,integration-2.19) && $(call home_of,integration-2.19) \
	  $(TIMED) integration-2.19 $(BIN)/ansible-test integration --python 3.11 --local --color no --allow-destructive

$(addprefix integration-,$(OLDER_CORES)): integration-%: core-venv-%
	@$(call make_copy,integration-$*)
	cd $(call copy_of,integration-$*) && $(call home_of,integration-$*) \
	  $(TIMED) integration-$* $(BUILD)/core-$*/bin/ansible-test integration --python 3.11 --local --color no --allow-destructive

# The Ansible quality gates, each in a copy of its own with ANSIBLE_COLLECTIONS_PATH pointing at it.
lint: venv
	@$(call make_copy,lint)
	cd $(call copy_of,lint) && $(call home_of,lint) ANSIBLE_COLLECTIONS_PATH=$(BUILD)/lint $(TIMED) ansible-lint $(BIN)/ansible-lint --offline

docs-lint: venv
	@$(call make_copy,docs-lint)
	cd $(call copy_of,docs-lint) && $(call home_of,docs-lint) ANSIBLE_COLLECTIONS_PATH=$(BUILD)/docs-lint $(TIMED) docs-lint \
	  bash -c '$(BIN)/antsibull-docs lint-collection-docs --plugin-docs . && $(BIN)/antsibull-changelog lint'

# The code style of pyproject.toml: ruff's format and linter on all Python, mypy's type checks of plugins/ (as the
# package Ansible imports it, from the copy's ansible_collections/) and of the simulator package (from its folder).
style: venv
	@$(call make_copy,style)
	cd $(BUILD)/style && $(call home_of,style) $(TIMED) style bash -c '$(BIN)/ruff format --check --no-cache ansible_collections/stratovirt/qmp && \
	  $(BIN)/ruff check --no-cache ansible_collections/stratovirt/qmp && \
	  $(BIN)/mypy --config-file ansible_collections/stratovirt/qmp/pyproject.toml --cache-dir $(BUILD)/homes/style/mypy \
	  -p ansible_collections.stratovirt.qmp.plugins && \
	  cd ansible_collections/stratovirt/qmp/roles/simulated_vm/files && \
	  $(BIN)/mypy --config-file ../../../pyproject.toml --cache-dir $(BUILD)/homes/style/mypy-sim -p stratovirt_sim'

# ansible-galaxy collection build, galaxy-importer on the tarball, ansible-builder introspect, install of the
# tarball into a clean directory, the rollout from there.
galaxy: venv
	@$(call make_copy,galaxy)
	cd $(call copy_of,galaxy) && $(call home_of,galaxy) PYTHONPATH=$(call simulator_of,galaxy) \
	  STRATOVIRT_QMP_REPOSITORY="$$(git -C $(ROOT) config --get remote.origin.url || echo $(ROOT))" $(TIMED) galaxy $(BIN)/python tests/galaxy/installed_rollout.py

# The vm_devices role against simulated VMs on localhost (extensions/molecule/default).
molecule: venv
	@$(call make_copy,molecule)
	cd $(call copy_of,molecule) && $(call home_of,molecule) ANSIBLE_COLLECTIONS_PATH=$(BUILD)/molecule $(TIMED) molecule $(BIN)/molecule test

# The byte-exact suites: unit, simulator, replay of the real recordings, end-to-end playbooks. Its log is kept so
# that make test can close on pytest's summary. PYTEST_ARGS narrows a run by hand: make pytest PYTEST_ARGS=tests/unit
PYTEST_ARGS ?= -n 3 tests/unit tests/simulator tests/replay tests/playbooks
pytest: venv collection
	set -o pipefail; cd $(COLLECTION) && $(call home_of,pytest) PYTHONPATH=$(COLLECTIONS) \
	  $(TIMED) pytest $(BIN)/python -m pytest $(PYTEST_ARGS) \
	  2>&1 | tee $(BUILD)/pytest.log

# Against a real StratoVirt, apart from make test: STRATOVIRT names the binary (a user's own build). Each test starts
# its own micro or standard VM (tests/real/real_vm.py: a guest built with binutils, Debian's OVMF) and stops it.
STRATOVIRT ?=
test-real: venv collection
	@if [ -z "$(STRATOVIRT)" ]; then echo 'test-real: skipped: no StratoVirt binary given (make test-real STRATOVIRT=/path/to/stratovirt)'; \
	else cd $(COLLECTION) && $(call home_of,test-real) PYTHONPATH=$(COLLECTIONS):$(ROOT)/tests/real STRATOVIRT=$(abspath $(STRATOVIRT)) \
	  $(BIN)/python -m pytest -p no:cacheprovider -v tests/real; fi

clean:
	rm -rf $(BUILD) $(VENV) .build $(DEMO_COLLECTIONS)
