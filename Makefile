# sonde - build, test and benchmark.
#
#   make                 libsonde.a and libsonde.so
#   make test            unit + integration tests (ends "N passed, N failed")
#   make test T=counter  only tests whose name contains "counter"
#   make test-asan       the same under AddressSanitizer + UBSan
#   make test-tsan       the same under ThreadSanitizer
#   make test-clang      the C suite built with clang
#   make test-oom        only the allocation-failure suite
#   make format          reformat the C sources (make format-check: verify)
#   make bench           benchmarks with in-run baselines (bench-long: the soak)
#   make demo            build and run the demo
#   make install PREFIX=/usr/local   (make uninstall PREFIX=...: removes it again)
#   make man             man pages (section 3) from the headers' comments
#   make test-packaging  install, CMake, pip, Go module and cargo from outside the tree
#   make ZLIB=0          build without zlib

PREFIX ?= /usr/local
CC ?= cc
CXX ?= c++
PYTHON ?= /usr/bin/python3
BUILD ?= build

VERSION := 0.1.0
SOMAJOR := 0

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
CSTD := -std=c11 -D_GNU_SOURCE
OPT ?= -O2
CFLAGS_LIB = $(CSTD) $(WARN) $(OPT) -g -fPIC -fvisibility=hidden -DSONDE_BUILDING -Iinclude -Ilib

# zlib: on when its header is found, unless ZLIB=0.
ifeq ($(origin ZLIB),undefined)
ZLIB := $(shell echo 'int main(void){return zlibVersion() == 0;}' | \
          $(CC) -x c -include zlib.h - -lz -o /dev/null >/dev/null 2>&1 && echo 1 || echo 0)
endif
ifeq ($(ZLIB),1)
  CFLAGS_LIB += -DSONDE_HAVE_ZLIB=1
  LIBS_ZLIB := -lz
endif
# What the library needs: libc, pthreads, zlib when enabled (no libm).
LIBS := -lpthread $(LIBS_ZLIB)
# Tests, benches and examples also use libm.
PROG_LIBS := $(LIBS) -lm

LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_HDR := $(wildcard lib/*/*.h)
HEADERS := $(wildcard include/*.h include/sonde/*.h)
TEST_SRC := $(sort $(wildcard tests/*/test_*.c)) tests/runner.c \
            $(sort $(wildcard tests/fuzz/fuzz_*.c)) tests/fuzz/replay.c
BENCH_SRC := $(sort $(wildcard bench/*.c))

# ---- release library ---------------------------------------------------------
REL := $(BUILD)/rel
REL_OBJ := $(patsubst lib/%.c,$(REL)/%.o,$(LIB_SRC))

all: $(BUILD)/libsonde.a $(BUILD)/libsonde.so

$(REL)/%.o: lib/%.c $(HEADERS) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) -c $< -o $@

$(REL) $(BUILD):
	mkdir -p $@

# libsonde.a holds one object prelinked from all of lib/ (ld -r): a static
# link then carries every file, including the top layer's constructor that
# wires the default registry (lib/api/defaults.c), which no host symbol
# would pull out of a per-file archive.
$(BUILD)/libsonde.a: $(REL_OBJ) | $(BUILD)
	$(CC) -r -nostdlib -o $(REL)/sonde-all.o $^
	rm -f $@ && ar rcs $@ $(REL)/sonde-all.o

# --no-undefined: every symbol the library uses must come from $(LIBS), so
# a stray libm call (or any other dependency) fails the build, not the host.
$(BUILD)/libsonde.so.$(VERSION): $(REL_OBJ) lib/api/sonde.map | $(BUILD)
	$(CC) -shared -Wl,-soname,libsonde.so.$(SOMAJOR) -Wl,--version-script=lib/api/sonde.map \
	  -Wl,--no-undefined -o $@ $(REL_OBJ) $(LIBS)

$(BUILD)/libsonde.so: $(BUILD)/libsonde.so.$(VERSION)
	ln -sf libsonde.so.$(VERSION) $(BUILD)/libsonde.so.$(SOMAJOR)
	ln -sf libsonde.so.$(VERSION) $@

# The OpenTelemetry project's OTLP definitions (a protobufjs root, npm
# package @opentelemetry/otlp-transformer@0.52.1), with which the exporter's
# tests decode what it sends (tests/otlp/otlp_decode.js). A failed install
# is reported, and those tests then fail naming what is missing.
OTLP_DEPS := tests/otlp/node_modules/@opentelemetry/otlp-transformer/package.json
$(OTLP_DEPS): tests/otlp/package.json
	@npm install --prefix tests/otlp --no-audit --no-fund --loglevel=error >/dev/null || \
	  echo "otlp-deps: npm install --prefix tests/otlp failed (the OTLP tests will fail)"
otlp-deps: $(OTLP_DEPS)
.PHONY: otlp-deps

# The real formatters the log profiles are checked against (npm packages
# @elastic/ecs-winston-format@1.5.3 and winston@3.19.0; tests/logprofiles,
# run by tests/log/test_log_profiles.c). A failed install is reported; the
# comparison tests then fail.
LOGPROF_DEPS := tests/logprofiles/node_modules/@elastic/ecs-winston-format/package.json
$(LOGPROF_DEPS): tests/logprofiles/package.json
	@npm install --prefix tests/logprofiles --no-audit --no-fund --loglevel=error >/dev/null || \
	  echo "logprofile-deps: npm install --prefix tests/logprofiles failed (the profile comparisons will fail)"
logprofile-deps: $(LOGPROF_DEPS)
.PHONY: logprofile-deps

# ---- test builds: plain, asan, tsan -------------------------------------------
# One directory per variant, the library rebuilt with the variant's flags.
# Tests reach internals through lib/'s private headers (-Ilib), never by
# unhiding static functions.
define variant
$(1)_DIR := $(BUILD)/$(1)
$(1)_LIBOBJ := $$(patsubst lib/%.c,$$($(1)_DIR)/lib/%.o,$(LIB_SRC))
$(1)_TESTOBJ := $$(patsubst tests/%.c,$$($(1)_DIR)/tests/%.o,$(TEST_SRC))
# Tests compile without SONDE_BUILDING, as a host does (inline hot path).
$(1)_CFLAGS := $(CSTD) $(WARN) -g -fno-omit-frame-pointer \
  -Iinclude -Ilib -Itests $(if $(filter 1,$(ZLIB)),-DSONDE_HAVE_ZLIB=1) $(2)

$$($(1)_DIR)/lib/%.o: lib/%.c $(HEADERS) $(LIB_HDR)
	@mkdir -p $$(dir $$@)
	$$(CC) $$($(1)_CFLAGS) -DSONDE_BUILDING -c $$< -o $$@

$$($(1)_DIR)/tests/%.o: tests/%.c $(HEADERS) $(LIB_HDR) tests/test.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$($(1)_CFLAGS) -DSONDE_SRC_DIR=\"$(CURDIR)\" -DSONDE_VARIANT_DIR=\"$(CURDIR)/$$($(1)_DIR)\" \
	  -DSONDE_PYTHON=\"$(PYTHON)\" -c $$< -o $$@

$$($(1)_DIR)/sonde-tests: $$($(1)_LIBOBJ) $$($(1)_TESTOBJ)
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$^ $(PROG_LIBS)

$$($(1)_DIR)/cxx-test: tests/cxx/cxx_test.cpp $$($(1)_LIBOBJ) $(HEADERS)
	$$(CXX) -std=c++17 -Wall -Wextra -Werror $(2) -Iinclude -o $$@ tests/cxx/cxx_test.cpp \
	  $$($(1)_LIBOBJ) $(PROG_LIBS)

$(1)-bins: $$($(1)_DIR)/sonde-tests $$($(1)_DIR)/cxx-test $(OTLP_DEPS) $(LOGPROF_DEPS)
endef

$(eval $(call variant,test,-O2))
comma := ,
$(eval $(call variant,asan,-O1 -fsanitize=address$(comma)undefined -fno-sanitize-recover=undefined))
$(eval $(call variant,tsan,-O1 -fsanitize=thread))

# The C suite, then the bindings' suites (skipped when T filters), then one
# closing line "total: N passed, N failed".
test: test-bins all
	@bash tests/tools/run_all.sh $(test_DIR)/sonde-tests $(T)

# all: tests build the README's programs against $(BUILD)/libsonde.a
test-asan: asan-bins all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 $(asan_DIR)/sonde-tests $(T)

test-tsan: tsan-bins all
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(tsan_DIR)/sonde-tests $(T)

# The C suite built by clang with the same warnings (STYLE: gcc and clang in
# CI), in its own build directory.
test-clang:
	@$(MAKE) -s CC=clang CXX=clang++ BUILD=$(BUILD)-clang SONDE_SKIP_BINDINGS=1 test

# Layout per .clang-format (clang-format 14, the version CI installs).
FORMAT_SRC := $(sort $(wildcard lib/*/*.c lib/*/*.h include/*.h include/sonde/*.h tests/*.c tests/*.h tests/*/test_*.c \
                tests/fuzz/*.c tests/cxx/*.cpp bench/*.c bench/*.h examples/*.c examples/*/*.c \
                examples/*/*.h bindings/rust/tests/c/*.c bindings/node/src/*.c))
CLANG_FORMAT ?= $(shell command -v clang-format-14 || command -v clang-format)
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)
format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) && echo "format: ok"

# The allocation-failure suite alone (it also runs in every test target).
test-oom: test-bins
	@$(test_DIR)/sonde-tests oom

# ---- bench -----------------------------------------------------------------------
# Every bench function starts on a 64-byte line: a timed loop then sits at
# the same offset in every build, so code added elsewhere cannot move its
# backward branch across a line (measured: the inlined counter inc went from
# 0.66 to 1.16 ns when an unrelated file grew, with identical instructions).
$(BUILD)/bench/sonde-bench: $(BENCH_SRC) bench/bench.h $(BUILD)/libsonde.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -falign-functions=64 -Iinclude -Ilib -o $@ $(BENCH_SRC) \
	  $(BUILD)/libsonde.a $(PROG_LIBS)

bench: $(BUILD)/bench/sonde-bench
	$(BUILD)/bench/sonde-bench $(B)

# The soak: ten times longer repetitions, more of them (see bench/bench.h).
# sonde beside prometheus-cpp and spdlog (apt-get install prometheus-cpp-dev
# libspdlog-dev), same harness, one run; not part of make test or CI.
$(BUILD)/bench/sonde-bench-peers: bench/peers/bench_peers.cpp bench/bench_main.c bench/bench.h $(BUILD)/libsonde.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -c bench/bench_main.c -o $(BUILD)/bench/bench_main_peers.o
	$(CXX) -std=c++17 -O2 -g -Iinclude -o $@ bench/peers/bench_peers.cpp $(BUILD)/bench/bench_main_peers.o \
	  $(BUILD)/libsonde.a -lprometheus-cpp-core -lspdlog -lfmt $(PROG_LIBS)

bench-peers: $(BUILD)/bench/sonde-bench-peers
	$(BUILD)/bench/sonde-bench-peers $(B)

bench-long: $(BUILD)/bench/sonde-bench
	SONDE_BENCH_LONG=1 $(BUILD)/bench/sonde-bench $(B)

# ---- examples and demo ---------------------------------------------------------------
# Examples build as a host builds them: -Iinclude only, against libsonde.a.
# examples/service is sonde-demo, the service `make demo` runs.
# libmicrohttpd is detected like zlib: examples/microhttpd is built only when
# it links (MHD=0 skips it).
DEMO_SRC := $(sort $(wildcard examples/service/*.c))
DEMO_HDR := $(wildcard examples/service/*.h)
EX_CFLAGS := $(CSTD) $(WARN) -O2 -g -Iinclude
ifeq ($(origin MHD),undefined)
MHD := $(shell echo 'int main(void){return MHD_get_version() == 0;}' | \
         $(CC) -x c -include microhttpd.h - -lmicrohttpd -o /dev/null >/dev/null 2>&1 && echo 1 || echo 0)
endif
EX_NAMES := sonde-demo log_and_trace sonde-crash-example sonde-push-example $(if $(filter 1,$(MHD)),microhttpd)
EXAMPLES := $(BUILD)/examples/minimal $(addprefix $(BUILD)/examples/,$(EX_NAMES))

# $(call example_rules,OUTDIR,CFLAGS,LIBSONDE): the example programs into OUTDIR.
# The one-file examples build without -D_GNU_SOURCE, as `cc -std=c11 x.c`
# would: each defines the feature macros it needs (issue 13.22).
define example_rules
$(1)/sonde-demo: $(DEMO_SRC) $(DEMO_HDR) $(3) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -o $$@ $(DEMO_SRC) $(3) $(PROG_LIBS)

$(1)/log_and_trace: examples/log_and_trace.c $(3) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(filter-out -D_GNU_SOURCE,$(2)) -o $$@ $$< $(3) $(PROG_LIBS)

$(1)/sonde-crash-example: examples/crash.c $(3) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(filter-out -D_GNU_SOURCE,$(2)) -o $$@ $$< $(3) $(PROG_LIBS)

$(1)/sonde-push-example: examples/push.c $(3) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(filter-out -D_GNU_SOURCE,$(2)) -o $$@ $$< $(3) $(PROG_LIBS)

$(1)/microhttpd: examples/microhttpd.c $(3) $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(filter-out -D_GNU_SOURCE,$(2)) -o $$@ $$< $(3) -lmicrohttpd $(PROG_LIBS)
endef

$(eval $(call example_rules,$(BUILD)/examples,$(EX_CFLAGS),$(BUILD)/libsonde.a))

$(BUILD)/examples/minimal: examples/minimal.c $(BUILD)/libsonde.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -D_GNU_SOURCE,$(CSTD)) $(WARN) -O2 -Iinclude -o $@ $< $(BUILD)/libsonde.a $(PROG_LIBS)

# The demo tests (tests/integration/test_demo.c) run the examples of their own variant
# (build/test/examples, build/asan/examples, ...), built with the variant's
# flags and library objects: `make test-asan T=demo` runs sonde-demo under
# ASan+UBSan. Adding them to <variant>-bins makes `make test`, `test-asan`
# and `test-tsan` build them.
DEMO_VARIANTS := test asan tsan
$(foreach v,$(DEMO_VARIANTS),$(eval $(call example_rules,$($(v)_DIR)/examples,$($(v)_CFLAGS),$($(v)_LIBOBJ))))
$(foreach v,$(DEMO_VARIANTS),$(eval $(v)-bins: $(addprefix $($(v)_DIR)/examples/,$(EX_NAMES))))

examples: $(EXAMPLES)

# `make demo` serves until Ctrl-C when run from a terminal (stdin and stdout
# both terminals). Otherwise (CI, `.ci/run`'s `make -s demo >/dev/null`,
# scripts) it stops after 5 seconds so it cannot hang. DURATION=N bounds it
# anywhere, DURATION=0 means until Ctrl-C (`make demo DURATION=0 | jq .`).
# DEMO_ARGS passes more options (e.g. DEMO_ARGS="--listen 127.0.0.1:9500").
# stdout carries the demo's JSON log lines only: the build runs in a
# sub-make whose output (compile lines, "Entering directory") goes to
# stderr, so `make demo | jq .` works from a fresh clone (issue 13.19).
DURATION ?=
demo:
	@$(MAKE) --no-print-directory $(BUILD)/examples/sonde-demo >&2
	@if [ -n "$(DURATION)" ]; then d="--duration $(DURATION)"; \
	 elif [ -t 0 ] && [ -t 1 ]; then d=""; else d="--duration 5"; fi; \
	 $(BUILD)/examples/sonde-demo $$d $(DEMO_ARGS)

# ---- fuzzing (libFuzzer, clang) ---------------------------------------------------
# make fuzz [FUZZ_SECONDS=60]: each target in tests/fuzz/ runs for FUZZ_SECONDS
# from its seed corpus (tests/fuzz/corpus/<name>, read only); new inputs go to
# build/fuzz/corpus-<name>, a crash to build/fuzz/crash-* (and fails the run).
# make test replays every corpus file, so a crash input copied into the corpus
# is a regression test from then on.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_CFLAGS := $(CSTD) -g -O1 -fno-omit-frame-pointer -Iinclude -Ilib -DSONDE_BUILDING \
  -DSONDE_SRC_DIR=\"$(CURDIR)\" \
  $(if $(filter 1,$(ZLIB)),-DSONDE_HAVE_ZLIB=1)
FUZZ_LIBOBJ := $(patsubst lib/%.c,$(FUZZ_DIR)/lib/%.o,$(LIB_SRC))

$(FUZZ_DIR)/lib/%.o: lib/%.c $(HEADERS) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIBOBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DSONDE_FUZZ_LIBFUZZER -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_LIBOBJ) $(PROG_LIBS)

fuzz-bins: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-bins
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t; \
	  echo "=== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
	    $(FUZZ_DIR)/corpus-$$t tests/fuzz/corpus/$$t > $(FUZZ_DIR)/$$t.log 2>&1 \
	    || { tail -40 $(FUZZ_DIR)/$$t.log; echo "fuzz $$t: FAILED"; exit 1; }; \
	  echo "fuzz $$t: $$(grep -o 'stat::number_of_executed_units: *[0-9]*' $(FUZZ_DIR)/$$t.log | grep -o '[0-9]*$$') executions, no failure"; \
	done

# ---- install ------------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...] installs the headers, both
# libraries, sonde.pc, the CMake package (lib/cmake/sonde: imported targets
# sonde::sonde and sonde::sonde_static), the man pages (share/man/man3) and
# the Python package (PYTHONDIR, found below). Every file and every
# directory it had to create is listed in share/sonde/install-manifest;
# make uninstall removes exactly those, so the prefix is left as it was.
# tools/install.sh does the work (and the ldconfig advice).
PYTHONDIR ?= $(shell $(PYTHON) tools/pythondir.py $(PREFIX) 2>/dev/null)

man: $(BUILD)/man/.stamp
$(BUILD)/man/.stamp: $(HEADERS) tools/gen_man.py
	$(PYTHON) tools/gen_man.py --out $(BUILD)/man/man3 --version $(VERSION) $(HEADERS)
	@touch $@

install: all man
	@SONDE_VERSION=$(VERSION) SONDE_SOMAJOR=$(SOMAJOR) SONDE_LIBS="$(LIBS)" SONDE_ZLIB=$(ZLIB) \
	 PYTHONDIR="$(PYTHONDIR)" bash tools/install.sh install "$(DESTDIR)" "$(PREFIX)" "$(BUILD)"

uninstall:
	@bash tools/install.sh uninstall "$(DESTDIR)" "$(PREFIX)" "$(BUILD)"

# Packaging from a fresh clone (issue 18): make install/uninstall leave the
# prefix as it was; a CMake project finds the installed package and another
# uses add_subdirectory; the CMake build agrees with this Makefile (sources
# and exports); man pages cover every exported function; pip installs the
# Python package offline; a Go module outside the tree builds against the
# installed library; a cargo project with a path dependency builds offline
# from nothing built. Ends "packaging: N passed, N failed".
test-packaging: all
	@BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) bash tests/tools/packaging_check.sh

check-source:
	bash .ci/check

clean:
	rm -rf $(BUILD)

.PHONY: all test test-asan test-tsan test-clang test-oom format format-check bench-long bench bench-peers examples demo install uninstall man test-packaging clean check-source fuzz fuzz-bins \
        test-bins asan-bins tsan-bins

print-%:
	@echo '$*=$($*)'

# ---- bindings: Python, Go, Rust, Node (bindings/README.md) ------------------------------
# Each target runs that language's own test runner and ends with
# "bindings-<lang>: N passed, N failed". Go and Rust are skipped, with the
# reason printed, when `go` / `cargo` is not installed.
BINDINGS_ENV = BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) SONDE_ZLIB_LIBS="$(LIBS_ZLIB)"

test-python: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh python

test-go: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh go

test-rust: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh rust

test-node: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh node

# the Node tests with the addon and libsonde under ASan+UBSan / TSan
test-node-asan: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh node-asan

test-node-tsan: all
	@$(BINDINGS_ENV) bash bindings/run-tests.sh node-tsan

test-bindings: all
	@rc=0; for l in python go rust node; do \
	  $(BINDINGS_ENV) bash bindings/run-tests.sh $$l || rc=1; done; exit $$rc

bench-bindings: all
	SONDE_LIBRARY=$(CURDIR)/$(BUILD)/libsonde.so PYTHONPATH=bindings/python $(PYTHON) bindings/python/bench.py
	@if command -v go >/dev/null 2>&1; then cd bindings/go && GOTOOLCHAIN=local GOPROXY=off \
	  GOCACHE=$(CURDIR)/$(BUILD)/go-cache GOPATH=$(CURDIR)/$(BUILD)/go-path \
	  CGO_LDFLAGS="-L$(CURDIR)/$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) $(LIBS_ZLIB)" go test -tags sonde_intree -run '^$$' -bench . -benchtime 1000000x .; \
	else echo "bench-bindings: go not found, Go benchmarks skipped"; fi

# the Node binding beside prom-client, pino and winston from npm (not run by CI)
bench-node: all
	cd bindings/node && SONDE_BUILD=$(CURDIR)/$(BUILD) npm install --no-audit --no-fund && node bench.js

.PHONY: test-python test-go test-rust test-node test-node-asan test-node-tsan test-bindings bench-bindings bench-node

.PHONY: fuzz fuzz-bins
