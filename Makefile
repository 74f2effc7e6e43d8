# conv1d-tune: the one build.
#
#   make deps     install every dependency (Debian packages, oneDNN from PyPI, Python packages); idempotent
#   make          libconv1d (static and shared) and the conv1d-tune program
#   make test     deps, build, then every test (C unit tests with cmocka, CLI tests with pytest)
#   make tune     deps, build, then sweep the default suite on this machine into the results database
#   make bench    deps, build, then the small real-model suite against oneDNN (results/bench/), and against
#                 PyTorch's F.conv1d where PyTorch is importable (scripts/vs_torch.py)
#   make python   install the Python package (python/: conv1d_tune) over this tree's libconv1d
#   make bench-torch  the newest PyTorch from PyPI into .deps/torch-venv, then the PyTorch comparison alone
#   make crossval the dispatcher on shapes nobody tuned: a cross-validation (results/crossval/)
#   make report   the performance report of a results DB: make report [DB=...] [OUT=...] (results/report/)
#   make install  PREFIX=/usr/local: header, libraries, pkg-config file, conv1d-tune
#   make valgrind the in-process unit tests under valgrind memcheck
#   make fuzz     libFuzzer targets of tests/fuzz/, FUZZ_SECONDS (60) each; make fuzz-smoke: 10 s each
#   make examples-test  install into build/stage, build examples/ with pkg-config alone, run (part of check)
#   make slurm-sweep  SUITE=file SHARDS=N [PARTITION=name]: the sweep as a SLURM job array of N shards and a
#                 merge job (scripts/slurm/submit.sh; SLURM_ARGS and SWEEP_ARGS pass options on)
#   make gpu-check  on a GPU machine, within 5.5 minutes: build with CUDA (GPU_CHECK_FAST=1: this GPU's
#                 architecture only), GPU unit tests, hw, bench of autotune/suites/gpu.suite most telling
#                 shapes first, a summary into OUT (results/gpu-check); make gpu-deps fetches the .deb files
#                 it unpacks where the machine lacks hwloc, SQLite or cmocka (copy .gpu-deps/ along)
#
# Switches: DNNL_ROOT=/path (your own oneDNN 3.x), ONEDNN=0 (no oneDNN: no CPU peer, "onednn: none"),
# FFTW=0 (no FFTW 3: no fft family), CUDA=0 (no CUDA even when nvcc exists), CUDNN=0 (CUDA without the cuDNN
# peer), CUDNN_ROOT=/path, SAN=1 (AddressSanitizer + UndefinedBehaviorSanitizer), V=1 (show commands),
# TUNED=tuned.c (winners exported by `conv1d-tune export`, compiled into libconv1d).

SHELL := /bin/bash
PREFIX ?= /usr/local
BUILD ?= build
PYTHON ?= python3

# --- dependencies -------------------------------------------------------------------------------------
# chromium: the report test renders index.html headless and checks that every figure loads.
APT_PKGS := build-essential pkg-config libhwloc-dev hwloc libsqlite3-dev sqlite3 libcmocka-dev chromium libfftw3-dev
PY_PKGS := numpy matplotlib pytest ml_dtypes
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
# -fvisibility=hidden: libconv1d.so exports only what include/conv1d.h marks CONV1D_API.
BASE_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -fopenmp $(WARN) \
    $(shell pkg-config --cflags hwloc sqlite3 cmocka 2>/dev/null)
# The layers (ARCHITECTURE.md): each part is compiled with the include paths of the parts it may use and
# no others, so an include that crosses a layer the wrong way does not build.
INC_core := -Iinclude -Icore
INC_variants := $(INC_core) -Ivariants -Ivariants/cpu -Ivariants/cuda -I$(DNNL_ROOT)/include
INC_runtime := $(INC_variants) -Iruntime
INC_harness := $(INC_runtime) -Iharness
INC_autotune := $(INC_harness) -Iautotune
INC_tests := $(INC_autotune) -Itests/unit
# ONEDNN=0 builds without oneDNN (a GPU machine, where the 54 MB library is not at hand): variants/cpu/onednn.c
# and -ldnnl are left out and -DC1_NO_ONEDNN drops the onednn lines of variants/variants.inc.
ONEDNN ?= 1
DNNL_LIBS := $(if $(filter 0,$(ONEDNN)),,-L$(DNNL_ROOT)/lib -Wl,-rpath,$(DNNL_ROOT)/lib -ldnnl)
ifeq ($(ONEDNN),0)
BASE_CFLAGS += -DC1_NO_ONEDNN
endif
# FFTW=0 builds without FFTW 3 (a machine without libfftw3-dev): variants/cpu/fft*.c, tests/unit/test_fft.c and
# the FFTW libraries are left out and -DC1_NO_FFTW drops the fft lines of variants/variants.inc. The family uses
# single precision (fftw3f) and, for its weights' transforms at prepare, double (fftw3).
FFTW ?= 1
FFTW_LIBS := $(if $(filter 0,$(FFTW)),,$(shell pkg-config --libs fftw3f fftw3 2>/dev/null || echo -lfftw3f -lfftw3))
ifeq ($(FFTW),0)
BASE_CFLAGS += -DC1_NO_FFTW
endif
DEP_LIBS := $(DNNL_LIBS) $(FFTW_LIBS) \
    $(shell pkg-config --libs hwloc sqlite3 2>/dev/null) -lgomp -lm -lpthread
ifeq ($(SAN),1)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
BUILD := build-san
# How the tests run a sanitized build. Reports go to files under $(BUILD)/san-logs/<suite>/ rather than
# only to stderr: a sanitizer report in a forked measurement child reaches the harness as nothing more than
# a "crashed" variant, and one in a CLI test expecting exit status 1 would pass unnoticed, so each suite
# fails when its log folder is not empty afterwards (and prints what is there). Leak checking is on for
# every process (the sandbox's children end with _exit, which skips it). The suppression files in
# tests/sanitizer/ say why each entry exists.
SAN_SUPP := $(CURDIR)/tests/sanitizer
SAN_LOGS = $(abspath $(BUILD))/san-logs
san_env = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:$\
check_initialization_order=1:log_path=$(SAN_LOGS)/$(1)/asan \
    LSAN_OPTIONS=suppressions=$(SAN_SUPP)/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(SAN_SUPP)/ubsan.supp:$\
log_path=$(SAN_LOGS)/$(1)/ubsan
# World-writable: some fault tests run the tool as an unprivileged user, whose reports must land here too.
san_logs_clear = @rm -rf $(BUILD)/san-logs/$(1) && mkdir -p -m 1777 $(BUILD)/san-logs/$(1)
san_logs_check = if [ -n "$$(ls -A $(BUILD)/san-logs/$(1))" ]; then \
    echo "FAILED: sanitizer reports in $(BUILD)/san-logs/$(1):"; head -n 60 $(BUILD)/san-logs/$(1)/*; fail=1; fi
else
san_env :=
san_logs_clear :=
san_logs_check = true
endif
# CUDNN=0 builds the CUDA variants without the cuDNN peer (an image without cuDNN); CUDNN_ROOT=/path takes
# cuDNN from elsewhere than the CUDA toolkit (include/ and lib/ below it, as NVIDIA's nvidia-cudnn wheels lay
# it out), and CUDNN_LINK the library to link (-lcudnn, or -l:libcudnn.so.9 where there is no unversioned link).
comma := ,
CUDNN ?= 1
CUDNN_ROOT ?=
CUDNN_LINK ?= -lcudnn
ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
BASE_CFLAGS += -DC1_HAVE_CUDA=1 -I$(CUDA_HOME)/include
CUDNN_LIBS := $(if $(filter 1,$(CUDNN)),\
    $(if $(CUDNN_ROOT),-L$(CUDNN_ROOT)/lib -Wl$(comma)-rpath$(comma)$(CUDNN_ROOT)/lib) $(CUDNN_LINK))
ifeq ($(CUDNN),1)
BASE_CFLAGS += -DC1_HAVE_CUDNN=1 $(if $(CUDNN_ROOT),-I$(CUDNN_ROOT)/include)
endif
# -lstdc++: the C++ runtime the nvcc-compiled objects need.
DEP_LIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart $(CUDNN_LIBS) -lstdc++
NVCCFLAGS ?= -O3 -lineinfo
NVCC_ARCH := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90
endif

# Per-ISA files carry their own -m flags; everything else is built for the baseline x86-64.
ISA_AVX512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c
ISA_AVX512BF16 := $(ISA_AVX512) -mavx512bf16
ISA_AVX2 := -mavx2 -mfma -mf16c

Q := $(if $(V),,@)

# --- sources ------------------------------------------------------------------------------------------
# runtime/tuned_default.c is compiled as $(OBJ)/runtime/tuned_table.o, or TUNED=file in its place (below).
LIB_SRC := $(filter-out runtime/tuned_default.c $(if $(filter 0,$(ONEDNN)),variants/cpu/onednn.c) \
    $(if $(filter 0,$(FFTW)),variants/cpu/fft%.c),\
    $(wildcard core/*.c) $(wildcard runtime/*.c) $(wildcard variants/*.c) $(wildcard variants/cpu/*.c))
LIB_CU := $(if $(filter 1,$(CUDA)),$(wildcard variants/cuda/*.cu))
LIB_CU_C := $(if $(filter 1,$(CUDA)),$(filter-out $(if $(filter 1,$(CUDNN)),,variants/cuda/cudnn.c),\
    $(wildcard variants/cuda/*.c)))
TOOL_SRC := $(wildcard harness/*.c) $(filter-out autotune/main.c,$(wildcard autotune/*.c))
TEST_SRC := $(filter-out $(if $(filter 0,$(FFTW)),tests/unit/test_fft.c),$(wildcard tests/unit/test_*.c))

OBJ = $(BUILD)/obj
LIB_OBJ := $(LIB_SRC:%.c=$(OBJ)/%.o) $(LIB_CU_C:%.c=$(OBJ)/%.o) $(LIB_CU:%.cu=$(OBJ)/%.cu.o) \
    $(OBJ)/runtime/tuned_table.o
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

.PHONY: all deps deps-apt deps-python deps-onednn test check unit-tests cli-tests tune bench report install \
    clean lib tool
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
	@$(PYTHON) -c "import numpy, matplotlib, pytest, ml_dtypes" 2>/dev/null || { \
	    echo "deps: installing Python packages: $(PY_PKGS)"; \
	    $(PIP) install --root-user-action=ignore $(PY_PKGS) || exit 1; }

# What plain `make` needs before it compiles, installed the same way when missing: the development packages
# (unless pkg-config already finds hwloc and SQLite, as on a machine set up by hand or by gpu_check.sh) and
# oneDNN unless ONEDNN=0. The tests, reports and fuzzers need more: `make deps`.
BUILD_APT_PKGS := build-essential pkg-config libhwloc-dev hwloc libsqlite3-dev sqlite3 $(if $(filter 0,$(FFTW)),,libfftw3-dev)
BUILD_PC := hwloc sqlite3 $(if $(filter 0,$(FFTW)),,fftw3f)
.PHONY: deps-build
deps-build:
	@pkg-config --exists $(BUILD_PC) 2>/dev/null || \
	    $(MAKE) --no-print-directory deps-apt APT_PKGS="$(BUILD_APT_PKGS)" || \
	    { echo "make: development files are missing ($(BUILD_PC)); install $(BUILD_APT_PKGS), or run make deps" >&2; exit 1; }
	$(if $(filter 0,$(ONEDNN)),,@$(MAKE) --no-print-directory deps-onednn)

# --- build --------------------------------------------------------------------------------------------
$(foreach part,core variants runtime harness autotune tests,$(eval $$(OBJ)/$(part)/%.o: LAYER_INC = $$(INC_$(part))))

$(OBJ)/%.o: %.c | deps-build
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC    $<")
	$(Q)$(CC) $(LAYER_INC) $(BASE_CFLAGS) $(CFLAGS) $(ISA_FLAGS) -MMD -MP -c $< -o $@

$(OBJ)/%_avx512.o: ISA_FLAGS := $(ISA_AVX512)
$(OBJ)/%_avx512bf16.o: ISA_FLAGS := $(ISA_AVX512BF16)
$(OBJ)/%_avx2.o: ISA_FLAGS := $(ISA_AVX2)

$(OBJ)/%.cu.o: %.cu | deps-build
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  NVCC  $<")
	$(Q)$(NVCC) $(NVCC_ARCH) $(NVCCFLAGS) -Xcompiler -fPIC -Xcompiler -fvisibility=hidden $(INC_core) -Ivariants \
	    -Ivariants/cuda -MMD -MP -c $< -o $@

$(TEST_REGISTRY): variants/registry.c variants/variants.inc tests/unit/test_variants.inc
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC    $< (with test variants)")
	$(Q)$(CC) $(INC_tests) $(BASE_CFLAGS) $(CFLAGS) -DC1_TEST_VARIANTS='"../tests/unit/test_variants.inc"' -MMD -MP \
	    -c $< -o $@

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
check: unit-tests cli-tests examples-test python-tests

# Every unit test once per ISA level this CPU has (conv1d-tune hw --isa-levels: avx512 avx2 c on an AVX-512
# machine), the best first, each under CONV1D_ISA=<level>; so an AVX-512 machine also tests the AVX2 and
# portable kernels on their tiling edges, and shows what an AVX2-only machine would run. ISA_LEVELS=avx2 (say)
# runs only those.
ISA_LEVELS ?= $(shell $(TOOL) hw --isa-levels 2>/dev/null || echo c)
unit-tests: $(TEST_BIN) $(TOOL)
	$(call san_logs_clear,unit)
	@fail=0; for isa in $(ISA_LEVELS); do for t in $(TEST_BIN); do \
	    echo "== $$t (CONV1D_ISA=$$isa)"; \
	    CONV1D_ISA=$$isa $(call san_env,unit) $$t || { echo "FAILED: $$t (CONV1D_ISA=$$isa)"; fail=1; }; \
	done; done; $(call san_logs_check,unit); exit $$fail

# A CUDA build's CLI tests also check that a CPU-only build of the same tree gives this machine the same
# fingerprint (tests/cli/test_gpu.py), so a tuned DB stays valid across the two; the sanitized run leaves it out.
NOCUDA_BUILD := $(if $(filter 1,$(CUDA)),$(if $(filter 1,$(SAN)),,$(BUILD)-nocuda))

.PHONY: nocuda-tool
nocuda-tool:
	$(if $(NOCUDA_BUILD),@$(MAKE) --no-print-directory CUDA=0 BUILD=$(NOCUDA_BUILD) $(NOCUDA_BUILD)/bin/conv1d-tune)

cli-tests: $(TOOL) nocuda-tool
	$(call san_logs_clear,cli)
	$(Q)fail=0; CONV1D_TUNE=$(abspath $(TOOL)) \
	    $(if $(NOCUDA_BUILD),CONV1D_TUNE_NOCUDA=$(abspath $(NOCUDA_BUILD))/bin/conv1d-tune) \
	    $(call san_env,cli) $(PYTHON) -m pytest -q tests/cli || fail=1; \
	    $(call san_logs_check,cli); exit $$fail

# --- main job, benchmarks, install --------------------------------------------------------------------
# The main job: the default suite in both layouts and in f32 and bf16 (TUNE_DTYPES=f32,bf16,f16 adds f16) into
# the default DB ($$CONV1D_DB or results/conv1d.db), then the winners with their speedup over oneDNN of the
# same class. Re-running resumes; TUNE_ARGS="--force" re-measures.
TUNE_DTYPES ?= f32,bf16
tune: deps
	@$(MAKE) --no-print-directory all
	$(TOOL) sweep --suite autotune/suites/default.suite --layout both --dtype $(TUNE_DTYPES) --budget 1.5 $(TUNE_ARGS)
	$(TOOL) winners

# `make bench BENCH_ARGS="--threads 1"` passes options to every `conv1d-tune bench`.
bench: deps
	@$(MAKE) --no-print-directory all
	scripts/bench.sh $(TOOL) autotune/suites/bench.suite results/bench $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-vs-torch

# The dispatcher on shapes nobody tuned (scripts/fallback_quality.py): the default suite and CROSSVAL_COUNT
# shapes drawn from its layers at other batches and lengths (scripts/gen_shapes.py) swept into
# results/crossval/cv.db (re-running resumes), then half of the drawn shapes held out and picked from a copy
# without them, against the sweep's times and then with each pick timed again beside the sweep's fastest
# variant and oneDNN in one bench run. About 22 minutes on a 2-core machine.
CROSSVAL_COUNT ?= 30
CROSSVAL_DIR := results/crossval
.PHONY: crossval
crossval: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(CROSSVAL_DIR)
	$(PYTHON) scripts/gen_shapes.py --count $(CROSSVAL_COUNT) --seed 11 > $(CROSSVAL_DIR)/unseen.suite
	$(TOOL) sweep --db $(CROSSVAL_DIR)/cv.db --suite autotune/suites/default.suite --suite $(CROSSVAL_DIR)/unseen.suite \
	    --layout both --budget 1.0
	$(PYTHON) scripts/fallback_quality.py --db $(CROSSVAL_DIR)/cv.db --tool $(TOOL) \
	    --test-from $(CROSSVAL_DIR)/unseen.suite --hold-out 0.5 --compare-nearest --csv $(CROSSVAL_DIR)/crossval.csv \
	    | tee $(CROSSVAL_DIR)/crossval.txt
	$(PYTHON) scripts/fallback_quality.py --db $(CROSSVAL_DIR)/cv.db --tool $(TOOL) \
	    --test-from $(CROSSVAL_DIR)/unseen.suite --hold-out 0.5 --timed --csv $(CROSSVAL_DIR)/crossval-timed.csv \
	    | tee $(CROSSVAL_DIR)/crossval-timed.txt

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/conv1d.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libconv1d.so
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|0.1.0|g' -e 's|@DNNL_LIB@|$(DNNL_ROOT)/lib|g' \
	    -e 's|@CUDA_LIBS@|$(CUDA_PC_LIBS)|g' \
	    -e 's|@FFTW_LIBS@|$(FFTW_LIBS)|g' conv1d.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/conv1d.pc

# --- libconv1d dispatcher -----------------------------------------------------------------------------
# `make TUNED=tuned.c` compiles a table written by `conv1d-tune export` into the library in place of the
# empty runtime/tuned_default.c. The stamp file remembers which source the object came from, so switching
# TUNED (or dropping it) rebuilds the object and the libraries.
TUNED_SRC := $(if $(TUNED),$(TUNED),runtime/tuned_default.c)
TUNED_STAMP := $(BUILD)/tuned-source
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(TUNED_STAMP) 2>/dev/null)" = "$(abspath $(TUNED_SRC))" ] || \
    echo "$(abspath $(TUNED_SRC))" > $(TUNED_STAMP); })

$(OBJ)/runtime/tuned_table.o: $(TUNED_SRC) $(TUNED_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC    $< (tuned table)")
	$(Q)$(CC) $(INC_runtime) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# A CUDA build's library also needs the CUDA runtime when linked statically (pkg-config --static).
CUDA_PC_LIBS := $(if $(filter 1,$(CUDA)),-L$(CUDA_HOME)/lib64 -Wl$(comma)-rpath$(comma)$(CUDA_HOME)/lib64 -lcudart $(CUDNN_LIBS) -lstdc++)

# What a user does: install into a staging prefix, build examples/conv1d_example.c against it with
# pkg-config alone, run it (it checks the dispatcher's result against a naive loop).
STAGE := $(abspath $(BUILD))/stage
.PHONY: examples-test
examples-test: all
	$(Q)rm -rf $(STAGE) && $(MAKE) --no-print-directory install PREFIX=$(STAGE) >/dev/null
	$(if $(Q),@echo "  CC    examples/conv1d_example.c (pkg-config conv1d from $(STAGE))")
	$(Q)export PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig && \
	    $(CC) -std=gnu11 $(WARN) -Werror $(SAN_LDFLAGS) -o $(STAGE)/conv1d_example examples/conv1d_example.c \
	        $$(pkg-config --cflags --libs conv1d) -lm
	$(call san_logs_clear,examples)
	$(Q)fail=0; $(call san_env,examples) $(STAGE)/conv1d_example || fail=1; \
	    $(call san_logs_check,examples); exit $$fail

# --- fuzzing and sanitizers ---------------------------------------------------------------------------
# `make test SAN=1` is the sanitized test run (see SAN above). `make valgrind` runs the unit tests that
# exercise the library in-process (no forked measurement children) under memcheck. `make fuzz` builds the
# libFuzzer targets of tests/fuzz/ with clang into build-fuzz/ and runs each for FUZZ_SECONDS; `make
# fuzz-smoke` runs each for 10 s (CI). New inputs go to build-fuzz/corpus/<target>/, the committed seeds in
# tests/fuzz/corpus/<target>/ are only read; a crash leaves its input as build-fuzz/crash-* and fails.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer $(WARN) -Iinclude -Icore -Ivariants -Iruntime -Iautotune
FUZZ_TARGETS := fuzz_desc_parse fuzz_npy fuzz_suite fuzz_store
# Each target is built from the few library sources it needs, so no oneDNN, hwloc or OpenMP is involved.
FUZZ_COMMON := core/status.c core/desc.c core/desc_text.c
FUZZ_SRC_fuzz_desc_parse := $(FUZZ_COMMON)
FUZZ_SRC_fuzz_npy := $(FUZZ_COMMON) autotune/npy.c
FUZZ_SRC_fuzz_suite := $(FUZZ_COMMON) autotune/suite.c
FUZZ_SRC_fuzz_store := $(FUZZ_COMMON) runtime/store.c runtime/store_merge.c runtime/model.c core/basics.c
FUZZ_LIBS_fuzz_store := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3) -lm
FUZZ_APT_PKGS := clang libclang-rt-14-dev
# Only what memcheck can run in reasonable time: the harness tests fork measurement children by design.
VALGRIND_TESTS := test_desc test_desc_text test_npy test_ref test_depthwise test_direct test_winograd test_onednn
# --vex-guest-max-insns: oneDNN's JIT kernels otherwise exhaust VEX's translation buffer ("VEX temporary
# storage exhausted"). Valgrind reports no AVX-512, so the variants run their AVX2 and portable paths.
VALGRIND := valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=yes --vex-guest-max-insns=10 \
    --suppressions=tests/sanitizer/valgrind.supp --quiet

.PHONY: deps-fuzz deps-valgrind fuzz fuzz-smoke fuzz-build valgrind

deps-fuzz deps-valgrind: APT_PKGS = $(if $(filter deps-fuzz,$@),$(FUZZ_APT_PKGS),valgrind)
deps-fuzz deps-valgrind:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing Debian packages:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing \
	        >/dev/null || exit 1; \
	fi

define FUZZ_RULE
$(FUZZ_BUILD)/$(1): tests/fuzz/$(1).c $(FUZZ_SRC_$(1)) $(wildcard runtime/*.h autotune/*.h include/*.h) | deps-fuzz
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  FUZZ  $$@")
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$< $(FUZZ_SRC_$(1)) $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

# -timeout: an input running over 10 s is a hang; -rss_limit_mb: one using over 2 GiB is a memory bug.
fuzz: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
	        > $(FUZZ_BUILD)/$$t.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/$$t.log; echo "FAILED: $$t"; fail=1; }; \
	    grep -E '^(Done|stat::number_of_executed_units)' $(FUZZ_BUILD)/$$t.log | tail -n 1; \
	done; exit $$fail

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

valgrind: deps deps-valgrind
	@$(MAKE) --no-print-directory SAN= $(VALGRIND_TESTS:%=build/tests/%)
	@fail=0; for t in $(VALGRIND_TESTS); do \
	    echo "== valgrind build/tests/$$t"; \
	    $(VALGRIND) build/tests/$$t >/dev/null || { echo "FAILED: $$t"; fail=1; }; \
	done; exit $$fail

# --- reports ---
# `make report [DB=...] [OUT=...] [REPORT_ARGS="--baseline OLD.db"]`: the performance report of a results DB
# (index.html, figures as PNG and SVG, winners.csv). DB defaults to $$CONV1D_DB, else results/conv1d.db; OUT to
# results/report. Only this section reads DB and OUT, through REPORT_DB and REPORT_OUT.
REPORT_DB = $(or $(DB),$(CONV1D_DB),results/conv1d.db)
REPORT_OUT = $(or $(OUT),results/report)
report: deps
	$(PYTHON) scripts/report.py --db $(REPORT_DB) --out $(REPORT_OUT) $(REPORT_TORCH) $(REPORT_ARGS)

clean:
	rm -rf build build-san build-fuzz

# --- Python: the conv1d_tune package and PyTorch as a peer ---
# The package (python/) calls this tree's build/lib/libconv1d.so through ctypes: nothing is compiled when it
# is installed. Its tests (tests/python) run with $(PYTHON); the PyTorch ones need a Python that imports
# torch, numpy and pytest: $(PYTHON) itself, else the venv of `make bench-torch`, else Debian's
# /usr/bin/python3 with python3-torch (installed by make deps), which then runs them as a second step. They
# load the non-sanitized library, so `make test SAN=1` leaves them out (a sanitized libconv1d cannot be
# loaded into a Python not started with the sanitizer runtime).
# `make bench` (and `make bench-torch`) then times every shape of bench.suite through libconv1d and through
# F.conv1d in one process (scripts/vs_torch.py) with the newest PyTorch at hand: the venv's, else
# $(PYTHON)'s, else Debian's; VS_TORCH_ARGS passes options to it. `make bench-torch` first installs the newest
# PyTorch from PyPI into TORCH_VENV: the standard wheel, used on the CPU only, pulls about 5 GB of CUDA
# libraries (PyPI holds no CPU-only build).
APT_PKGS += python3-torch python3-pytest
# make report adds the PyTorch ratios of the newest vs_torch CSV of make bench, where there is one.
VS_TORCH_CSV = $(lastword $(sort $(wildcard results/bench/vs_torch-*.csv)))
REPORT_TORCH = $(if $(VS_TORCH_CSV),--torch $(VS_TORCH_CSV))
TORCH_VENV := $(CURDIR)/.deps/torch-venv
# The first of the listed Pythons that imports the listed modules, as an absolute path, or nothing.
first_python = for p in $(1); do p=$$(command -v $$p 2>/dev/null) && $$p -c 'import $(2)' >/dev/null 2>&1 && \
    { echo $$p; break; }; done
.PHONY: python python-tests bench-torch bench-vs-torch

python: lib
	$(PIP) install --root-user-action=ignore ./python

python-tests: $(SHARED_LIB)
ifeq ($(SAN),1)
	@echo "python-tests: left out of the sanitized run (an AddressSanitizer libconv1d cannot be loaded into" \
	    "Python); make test runs them against build/lib"
else
	$(Q)fail=0; export CONV1D_LIB=$(abspath $(BUILD))/lib/libconv1d.so; \
	tpy=$$($(call first_python,$(PYTHON) $(TORCH_VENV)/bin/python /usr/bin/python3,torch$(comma) numpy$(comma) pytest)); \
	CONV1D_TORCH_PYTHON=$$tpy $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/python || fail=1; \
	if [ -n "$$tpy" ] && [ "$$tpy" != "$$(command -v $(PYTHON))" ]; then \
	    echo "== the PyTorch tests with $$tpy (torch $$($$tpy -c 'import torch; print(torch.__version__)'))"; \
	    $$tpy -m pytest -q -rs -p no:cacheprovider tests/python/test_py_torch.py || fail=1; \
	fi; exit $$fail
endif

bench-torch: deps
	@$(MAKE) --no-print-directory all
	@$(TORCH_VENV)/bin/python -c 'import torch, numpy, pytest' 2>/dev/null || { \
	    echo "bench-torch: installing the newest PyTorch from PyPI into $(TORCH_VENV) (the standard wheel with" \
	        "about 5 GB of CUDA libraries; used on the CPU only)"; \
	    $(PYTHON) -m venv $(TORCH_VENV) && \
	    $(TORCH_VENV)/bin/pip --disable-pip-version-check -q install torch numpy pytest || exit 1; }
	@$(MAKE) --no-print-directory bench-vs-torch

bench-vs-torch:
	@tpy=$$($(call first_python,$(TORCH_VENV)/bin/python $(PYTHON) /usr/bin/python3,torch$(comma) numpy)); \
	if [ -z "$$tpy" ]; then echo "bench: PyTorch is not importable, so no PyTorch comparison (make bench-torch)"; \
	else csv=$$(ls -t results/bench/bench-*.csv 2>/dev/null | head -n 1); \
	    echo "bench: PyTorch as a peer with $$tpy"; \
	    CONV1D_LIB=$(abspath $(BUILD))/lib/libconv1d.so $$tpy scripts/vs_torch.py --suite autotune/suites/bench.suite \
	        --out results/bench $${csv:+--onednn-csv $$csv} $(VS_TORCH_ARGS); fi

# --- GPU machines ---
# `make gpu-check [OUT=dir]`: one command for a GPU machine (scripts/gpu_check.sh says what it runs; its
# GPU_CHECK_SECONDS, GPU_CHECK_FAST and GPU_BENCH_ARGS pass through); it builds into GPU_BUILD, inside the
# ignored build/ folder. `make gpu-deps` (where apt works) fills .gpu-deps/, which is git-ignored: copy it
# to the GPU machine along with the working tree.
GPU_CHECK_OUT = $(or $(OUT),results/gpu-check)
GPU_BUILD ?= build/gpu
.PHONY: gpu-check gpu-deps
gpu-check:
	GPU_BUILD=$(GPU_BUILD) scripts/gpu_check.sh $(GPU_CHECK_OUT)

gpu-deps:
	scripts/gpu_deps.sh .gpu-deps

# --- many machines (SLURM) ---
# `make slurm-sweep SUITE=file SHARDS=N [PARTITION=name] [SLURM_ARGS="--time 4:00:00 --cpus-per-task 8"]
# [SWEEP_ARGS=...]`: a job array whose task I sweeps shard I/N on node-local disk, and a merge job after it
# (scripts/slurm/; the README's "Many machines"). SUITE defaults to the default suite, SWEEP_ARGS to the
# options of `make tune`. Only this section reads SUITE, SHARDS, PARTITION, SLURM_ARGS and SWEEP_ARGS.
.PHONY: slurm-sweep
slurm-sweep: deps
	@[ -n "$(SHARDS)" ] || { echo "make slurm-sweep: say how many shards: SHARDS=N [SUITE=file] [PARTITION=name]" >&2; exit 2; }
	@$(MAKE) --no-print-directory all
	scripts/slurm/submit.sh --suite $(or $(SUITE),autotune/suites/default.suite) --shards $(SHARDS) \
	    $(if $(PARTITION),--partition $(PARTITION)) --tool $(TOOL) $(SLURM_ARGS) \
	    -- $(or $(SWEEP_ARGS),--layout both --budget 1.5)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
