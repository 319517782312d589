# pmirror — a thin front over CMake. The README's set-up is two commands:
#   make demo    install dependencies, build, show pmirror working
#   make test    install dependencies, build, run every test suite (ctest)
# The loop after each change: make check (build, then the unit and integration tests; no deps,
# no sanitizers, no fuzzing, no valgrind, no e2e). make test runs it first.
# Other targets: make deps (Debian packages; idempotent), make (build into build/),
# make install PREFIX=DIR (default /usr/local), make deb (build/pmirror_*.deb),
# make sanitize (build-asan/ with address,undefined sanitizers and run the tests there),
# make clang (build-clang/, warnings as errors under clang, and the libFuzzer targets),
# make fuzz FUZZ_SECONDS=N (every fuzz target for N seconds), make valgrind (the integration
# tests again with every pmirror run under memcheck, in build/; also the last step of make
# test), make clean.

BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

# Debian packages the build and the tests need (pkg-config names in cmake/deps.cmake).
DEB_PACKAGES = cmake make gcc clang pkg-config \
  libpcap-dev libcurl4-openssl-dev libjansson-dev zlib1g-dev libcriterion-dev \
  libmicrohttpd-dev libyaml-dev libpcre2-dev libssl-dev node-llhttp libpq-dev \
  postgresql python3-psycopg2 \
  docker-registry skopeo python3 chromium libxml2-utils nginx valgrind gunicorn \
  mandoc man-db dpkg-dev python3-yaml podman debootstrap

FUZZ_SECONDS ?= 600

.PHONY: all build deps check test container-test demo sanitize clang fuzz valgrind clean install deb

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get failed; install by hand:$$missing" >&2; exit 1; }; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The contributor's loop: the gcc build, its unit and integration tests (ctest labels; the
# e2e, fuzz and valgrind labels are make test's). One test: ctest --test-dir build -R NAME.
check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L '^(unit|integration)$$'

# make check; the e2e tests (real registries, skopeo); the unit and integration tests again
# in the ASan + UBSan build (leak checking on, any sanitizer report fails its test:
# tests/sanitized.sh); then, when clang is there, the clang build (warnings as errors) and a
# short run of every fuzz target; last the integration tests under valgrind's memcheck
# (label valgrind, same gcc build).
test: deps
	$(MAKE) check
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L '^e2e$$'
	cd $(BUILD) && ctest --output-on-failure -L '^package$$'
	$(MAKE) sanitize
	@if command -v clang >/dev/null 2>&1; then \
	  $(MAKE) clang && cd build-clang && ctest --output-on-failure -j $(JOBS) -L fuzz; \
	else echo "make test: clang not found: skipping the clang build and the fuzz smoke run"; fi
	$(MAKE) valgrind

# The container image (label container: Containerfile built with podman on a debootstrap
# base, checked through chroot): 5-15 minutes on a fresh machine, so not in make test's
# half hour; CI runs it right after make test (.ci/run).
container-test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -L '^container$$'

demo: deps
	$(MAKE) build
	@bash tools/demo.sh $(BUILD)/pmirror

# clang when there is one: gcc's UBSan (beside ASan) ignores log_path and reports on stderr,
# which a test may swallow (tests/sanitized.sh reads the sanitizers' log files).
SANITIZE_CC ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo gcc)

sanitize: deps
	$(MAKE) build BUILD=build-asan CMAKE_ARGS="-DPMIRROR_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=$(SANITIZE_CC)"
	cd build-asan && ctest --output-on-failure -j $(JOBS) -LE fuzz

# The plain build registers the label when asked (tests/CMakeLists.txt); the tests that
# time what they check run alone (RUN_SERIAL), the rest two at a time.
valgrind: deps
	$(MAKE) build
	cmake -S . -B $(BUILD) -DPMIRROR_VALGRIND=ON >/dev/null
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L valgrind

clang: deps
	$(MAKE) build BUILD=build-clang CMAKE_ARGS="-DCMAKE_C_COMPILER=clang"

fuzz: clang
	cmake -S . -B build-clang -DPMIRROR_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cd build-clang && ctest --output-on-failure -L fuzz
	cmake -S . -B build-clang -DPMIRROR_FUZZ_SECONDS=10 >/dev/null

# make install PREFIX=DIR: the binary, the man page and the Quay profile under DIR (default
# /usr/local; README "Install"). make deb: the Debian package, in $(BUILD)/.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	cd $(BUILD) && cpack -G DEB

clean:
	rm -rf build build-asan build-clang build-valgrind
