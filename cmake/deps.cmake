# Finds every external dependency through pkg-config and names the Debian package to
# install when one is missing, so a new machine gets one actionable line, not a wall of
# CMake output. `make deps` installs the same list (see Makefile).
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (or run 'make deps')")
endif()

# pm_require(<imported target> <pkg-config module> <Debian package>)
function(pm_require name module debian)
  pkg_check_modules(${name} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "missing dependency '${module}': install the Debian package '${debian}' (or run 'make deps')")
  endif()
endfunction()

pm_require(PCAP      libpcap       libpcap-dev)
pm_require(CURL      libcurl       libcurl4-openssl-dev)
pm_require(JANSSON   jansson       libjansson-dev)
pm_require(ZLIB      zlib          zlib1g-dev)
pm_require(MHD       libmicrohttpd libmicrohttpd-dev)
pm_require(YAML      yaml-0.1      libyaml-dev)
pm_require(PCRE2     libpcre2-8    libpcre2-dev)
pm_require(CRYPTO    libcrypto     libssl-dev)
pm_require(PQ        libpq         libpq-dev)
if(PMIRROR_TESTS)
  pm_require(CRITERION criterion   libcriterion-dev)
endif()

# llhttp: Debian's node-llhttp ships the generated C sources; we compile them ourselves.
set(PM_LLHTTP_DIR /usr/share/llhttp CACHE PATH "llhttp C sources (Debian package node-llhttp)")
set(PM_LLHTTP_INCLUDE /usr/share/include/llhttp CACHE PATH "llhttp header (Debian package node-llhttp)")
if(NOT EXISTS ${PM_LLHTTP_DIR}/llhttp.c OR NOT EXISTS ${PM_LLHTTP_INCLUDE}/llhttp.h)
  message(FATAL_ERROR "missing dependency 'llhttp' sources: install the Debian package 'node-llhttp' (or run 'make deps')")
endif()
add_library(pm_llhttp STATIC ${PM_LLHTTP_DIR}/llhttp.c ${PM_LLHTTP_DIR}/api.c ${PM_LLHTTP_DIR}/http.c)
target_include_directories(pm_llhttp SYSTEM PUBLIC ${PM_LLHTTP_INCLUDE})
# Generated third-party code: our warning policy is for our code.
target_compile_options(pm_llhttp PRIVATE -w)
