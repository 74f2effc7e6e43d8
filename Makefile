# conv1d-tune: the one build.
#
#   make deps     install every dependency (Debian packages, oneDNN from PyPI, Python packages); idempotent
#   make          libconv1d (static and shared) and the conv1d-tune program
#   make test     deps, build, then every test (C unit tests with cmocka, CLI tests with pytest)
#   make tune     deps, build, then sweep the default suite on this machine into the results database
#   make bench    deps, build, then the small real-model suite against oneDNN (results/bench/)
#   make install  PREFIX=/usr/local: header, libraries, pkg-config file, conv1d-tune
#
# Switches: DNNL_ROOT=/path (your own oneDNN 3.x), CUDA=0 (no CUDA even when nvcc exists), SAN=1
# (AddressSanitizer + UndefinedBehaviorSanitizer), V=1 (show commands).

SHELL := /bin/bash
PREFIX ?= /usr/local
BUILD ?= build
PYTHON ?= python3

# --- dependencies -------------------------------------------------------------------------------------
APT_PKGS := build-essential pkg-config libhwloc-dev hwloc libsqlite3-dev sqlite3 libcmocka-dev
PY_PKGS := numpy matplotlib pytest
# oneDNN 3.x from Intel's PyPI packages. The newest `onednn` wheels link libsycl and TBB (a SYCL runtime);
# onednn-cpu-gomp 2023.2.0 (oneDNN 3.2) is the newest build against GNU OpenMP with neither.
ONEDNN_PKGS := onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0
DNNL_DEFAULT_ROOT := $(CURDIR)/.deps/onednn
DNNL_ROOT ?= $(DNNL_DEFAULT_ROOT)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIP := $(PYTHON) -m pip --disable-pip-version-check -q

# --- toolchain ----------------------------------------------------------------------------------------
CC ?= gcc
NVCC ?= $(shell command -v nvcc 2>/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(origin CUDA),undefined)
CUDA := $(if $(NVCC),1,0)
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -fPIC -fopenmp $(WARN) -Iinclude -Iruntime -Ivariants -Ivariants/cpu -Iharness \
    -Iautotune -I$(DNNL_ROOT)/include $(shell pkg-config --cflags hwloc sqlite3 cmocka 2>/dev/null)
DEP_LIBS := -L$(DNNL_ROOT)/lib -Wl,-rpath,$(DNNL_ROOT)/lib -ldnnl \
    $(shell pkg-config --libs hwloc sqlite3 2>/dev/null) -lgomp -lm -lpthread
ifeq ($(SAN),1)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
BUILD := build-san
endif
ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
BASE_CFLAGS += -DC1_HAVE_CUDA=1 -I$(CUDA_HOME)/include
DEP_LIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcudnn
NVCCFLAGS ?= -O3 -lineinfo
NVCC_ARCH := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90
endif

# Per-ISA files carry their own -m flags; everything else is built for the baseline x86-64.
ISA_AVX512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma
ISA_AVX2 := -mavx2 -mfma

Q := $(if $(V),,@)

# --- sources ------------------------------------------------------------------------------------------
LIB_SRC := $(wildcard runtime/*.c) $(wildcard variants/*.c) $(wildcard variants/cpu/*.c)
LIB_CU := $(if $(filter 1,$(CUDA)),$(wildcard variants/cuda/*.cu))
LIB_CU_C := $(if $(filter 1,$(CUDA)),$(wildcard variants/cuda/*.c))
TOOL_SRC := $(wildcard harness/*.c) $(filter-out autotune/main.c,$(wildcard autotune/*.c))
TEST_SRC := $(wildcard tests/unit/test_*.c)

OBJ = $(BUILD)/obj
LIB_OBJ := $(LIB_SRC:%.c=$(OBJ)/%.o) $(LIB_CU_C:%.c=$(OBJ)/%.o) $(LIB_CU:%.cu=$(OBJ)/%.cu.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(OBJ)/%.o)
# Test binaries see the test-only variants (crashing, hanging, wrong) through a second registry object.
TEST_REGISTRY := $(OBJ)/tests/registry_with_test_variants.o
TEST_LIB_OBJ := $(filter-out $(OBJ)/variants/registry.o,$(LIB_OBJ)) $(TEST_REGISTRY) \
    $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/unit/variants_test_only.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

SONAME := libconv1d.so.0
STATIC_LIB := $(BUILD)/lib/libconv1d.a
SHARED_LIB := $(BUILD)/lib/libconv1d.so.0.1.0
TOOL := $(BUILD)/bin/conv1d-tune

.PHONY: all deps deps-apt deps-python deps-onednn test check unit-tests cli-tests tune bench install clean \
    lib tool
.DEFAULT_GOAL := all

all: lib tool
lib: $(STATIC_LIB) $(SHARED_LIB)
tool: $(TOOL)

# --- dependencies -------------------------------------------------------------------------------------
deps: deps-apt deps-onednn deps-python

deps-apt:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing Debian packages:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing \
	        >/dev/null || exit 1; \
	fi

# Installed into .deps/onednn unless the user points DNNL_ROOT at their own oneDNN 3.x.
deps-onednn:
	@if [ ! -f "$(DNNL_ROOT)/include/oneapi/dnnl/dnnl.h" ]; then \
	    if [ "$(DNNL_ROOT)" != "$(DNNL_DEFAULT_ROOT)" ]; then \
	        echo "deps: DNNL_ROOT=$(DNNL_ROOT) has no include/oneapi/dnnl/dnnl.h" >&2; exit 1; fi; \
	    echo "deps: installing oneDNN ($(ONEDNN_PKGS)) into $(DNNL_ROOT)"; \
	    $(PIP) install --root-user-action=ignore --no-deps --prefix "$(DNNL_ROOT)" $(ONEDNN_PKGS) || exit 1; \
	fi

deps-python:
	@$(PYTHON) -c "import numpy, matplotlib, pytest" 2>/dev/null || { \
	    echo "deps: installing Python packages: $(PY_PKGS)"; \
	    $(PIP) install --root-user-action=ignore $(PY_PKGS) || exit 1; }

# --- build --------------------------------------------------------------------------------------------
$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC    $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(ISA_FLAGS) -MMD -MP -c $< -o $@

$(OBJ)/%_avx512.o: ISA_FLAGS := $(ISA_AVX512)
$(OBJ)/%_avx2.o: ISA_FLAGS := $(ISA_AVX2)

$(OBJ)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  NVCC  $<")
	$(Q)$(NVCC) $(NVCC_ARCH) $(NVCCFLAGS) -Xcompiler -fPIC -Iinclude -Iruntime -Ivariants -c $< -o $@

$(TEST_REGISTRY): variants/registry.c variants/variants.inc tests/unit/test_variants.inc
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC    $< (with test variants)")
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -DC1_TEST_VARIANTS='"../tests/unit/test_variants.inc"' -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared -fopenmp -Wl,-soname,$(SONAME) $(SAN_LDFLAGS) -o $@ $^ $(DEP_LIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/lib/$(SONAME) && ln -sf $(SONAME) $(BUILD)/lib/libconv1d.so

$(TOOL): $(OBJ)/autotune/main.o $(TOOL_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD    $@")
	$(Q)$(CC) -fopenmp $(SAN_LDFLAGS) -o $@ $(OBJ)/autotune/main.o $(TOOL_OBJ) $(STATIC_LIB) $(DEP_LIBS)

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(TOOL_OBJ) $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD    $@")
	$(Q)$(CC) -fopenmp $(SAN_LDFLAGS) -o $@ $^ $(DEP_LIBS) -lcmocka

# --- tests --------------------------------------------------------------------------------------------
# `make test` is the README's test command: it installs what it needs, builds, and runs everything.
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@$(MAKE) --no-print-directory check

# Runs every suite even when one fails, then fails if any did.
check: unit-tests cli-tests

unit-tests: $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do \
	    echo "== $$t"; $$t || { echo "FAILED: $$t"; fail=1; }; \
	done; exit $$fail

cli-tests: $(TOOL)
	$(Q)CONV1D_TUNE=$(abspath $(TOOL)) $(PYTHON) -m pytest -q tests/cli

# --- main job, benchmarks, install --------------------------------------------------------------------
# The main job: the default suite in both layouts into the default DB ($$CONV1D_DB or results/conv1d.db),
# then the winners with their speedup over oneDNN. Re-running resumes; TUNE_ARGS="--force" re-measures.
tune: deps
	@$(MAKE) --no-print-directory all
	$(TOOL) sweep --suite autotune/suites/default.suite --layout both --budget 1.5 $(TUNE_ARGS)
	$(TOOL) winners

# `make bench BENCH_ARGS="--threads 1"` passes options to every `conv1d-tune bench`.
bench: deps
	@$(MAKE) --no-print-directory all
	scripts/bench.sh $(TOOL) autotune/suites/bench.suite results/bench $(BENCH_ARGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/conv1d.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libconv1d.so
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|0.1.0|g' -e 's|@DNNL_LIB@|$(DNNL_ROOT)/lib|g' \
	    conv1d.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/conv1d.pc

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
