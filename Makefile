# pmirror — a thin front over CMake. The README's set-up is two commands:
#   make demo    install dependencies, build, show pmirror working
#   make test    install dependencies, build, run every test suite (ctest)
# Other targets: make deps (Debian packages; idempotent), make (build into build/),
# make sanitize (build-asan/ with address,undefined sanitizers and run the tests there),
# make clang (build-clang/, warnings as errors under clang), make clean.

BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

# Debian packages the build and the tests need (pkg-config names in cmake/deps.cmake).
DEB_PACKAGES = cmake make gcc pkg-config \
  libpcap-dev libcurl4-openssl-dev libjansson-dev zlib1g-dev libcriterion-dev \
  libmicrohttpd-dev libyaml-dev libpcre2-dev libssl-dev node-llhttp

.PHONY: all build deps test demo sanitize clang clean

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

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) build
	@bash tools/demo.sh $(BUILD)/pmirror

sanitize: deps
	$(MAKE) build BUILD=build-asan CMAKE_ARGS="-DPMIRROR_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug"
	cd build-asan && ctest --output-on-failure -j $(JOBS)

clang: deps
	$(MAKE) build BUILD=build-clang CMAKE_ARGS="-DCMAKE_C_COMPILER=clang"

clean:
	rm -rf build build-asan build-clang
