# SPDX-License-Identifier: Apache-2.0
# Entry points. `make demo` and `make test` work on a fresh Debian 12 machine:
# each installs what is missing (apt-get), builds, and runs.
BUILD ?= build
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 600
MAKEFLAGS += --no-print-directory

.PHONY: all setup build demo test bench fuzz install clean

all: build

setup:
	@scripts/setup.sh test

build:
	@scripts/setup.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j$$(nproc)

demo: build
	@scripts/demo.sh $(BUILD)/bulwark

test:
	@scripts/setup.sh test
	@scripts/ci.sh

bench: build
	@scripts/setup.sh bench
	@bench/run.sh $(BUILD)

fuzz:
	@scripts/setup.sh test
	@scripts/fuzz.sh $(FUZZ_SECONDS)

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf build build-* demo-out
