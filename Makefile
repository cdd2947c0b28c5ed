# A thin wrapper over CMake presets, so the README's two commands work on a
# fresh Debian 12 machine:  make demo  |  make test
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build demo test test-release test-asan test-fuzz bench install clean

all: build

deps:
	contrib/install-deps.sh

build/build.ninja:
	cmake --preset release -DTANDEM_WERROR=ON -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: build/build.ninja
	cmake --build --preset release -j $(JOBS)

build-asan/build.ninja:
	cmake --preset asan -DTANDEM_WERROR=ON

# The demo: a PBX and call centre on loopback, in the foreground (Ctrl-C stops it).
demo: deps build
	build/bin/tandem -c dialplans/demo/tandem.lua

# Every test, unit and integration, in the release build and again under
# ASan+UBSan; then each parser's libFuzzer target for a few seconds.
test: deps test-release test-asan test-fuzz

test-release: build
	ctest --preset release $(CTEST_ARGS)

test-asan: build-asan/build.ninja
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan $(CTEST_ARGS)

build-fuzz/build.ninja:
	cmake --preset fuzz -DTANDEM_WERROR=ON

test-fuzz: build-fuzz/build.ninja
	cmake --build --preset fuzz -j $(JOBS) --target fuzz_all
	ctest --preset fuzz $(CTEST_ARGS)

bench: build
	bench/run.sh

install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-debug build-fuzz
