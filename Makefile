# runway-bpfd: `make` builds build/runway-bpfd and build/runway-sweep; `make test`,
# `make demo`, `make bench`.
# Every generated file goes under build/.  V=1 shows the commands.

OUTPUT ?= build
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
CC ?= cc
PYTHON ?= /usr/bin/python3
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(OUTPUT) \
	  -DRUNWAY_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(OUTPUT) \
	      -Wall -Werror -Wno-unused-function
LDLIBS := -lbpf -lelf -lz -lmicrohttpd -lpthread
# runway-sweep and bench/closedloop: plain sockets, no BPF.
SWEEP_CFLAGS := -Isrc/loadgen -Isrc/sweep

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

DAEMON_SRCS := $(wildcard src/*.c)
DAEMON_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(DAEMON_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELETONS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

# The closed-loop HTTP clients that runway-sweep and bench/closedloop share.
LOADGEN_SRCS := $(wildcard src/loadgen/*.c)
LOADGEN_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(LOADGEN_SRCS))
SWEEP_SRCS := $(wildcard src/sweep/*.c)
SWEEP_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(SWEEP_SRCS))

# Unit tests: tests/unit/test_X.c links with the daemon's and runway-sweep's
# objects except their main.o.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/main.o,$(DAEMON_OBJS)) \
	    $(filter-out $(OUTPUT)/sweep/main.o,$(SWEEP_OBJS)) $(LOADGEN_OBJS)

.DELETE_ON_ERROR:
# The BPF object is an input of the skeleton, not a throw-away: keep it.
.SECONDARY:
.PHONY: all clean test unit-test deploy-test integration-test demo bench deps fuzz sanitize-test

all: $(OUTPUT)/runway-bpfd $(OUTPUT)/runway-sweep

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/loadgen $(OUTPUT)/sweep $(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	@# DWARF is for humans; the skeleton embeds the object, BTF is what libbpf needs.
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(DAEMON_OBJS): $(SKELETONS)

$(OUTPUT)/%.o: src/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/runway-bpfd: $(DAEMON_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/loadgen/%.o: src/loadgen/%.c | $(OUTPUT)/loadgen
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SWEEP_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/sweep/%.o: src/sweep/%.c | $(OUTPUT)/sweep
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SWEEP_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/runway-sweep: $(SWEEP_OBJS) $(LOADGEN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lm -o $@

# make bench's helpers (bench/run.py builds them through these rules): the
# HTTP ones share src/loadgen with runway-sweep.
$(OUTPUT)/bench/closedloop $(OUTPUT)/bench/keepalive_load: $(OUTPUT)/bench/%: bench/%.c $(LOADGEN_OBJS) \
		| $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SWEEP_CFLAGS) -MMD -MP $< $(LOADGEN_OBJS) -o $@

$(OUTPUT)/bench/syscall_loop: bench/syscall_loop.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< -o $@

# Part 7's floors: empty programs on our hooks, the least work of an exact
# design on them, and their loader.
$(OUTPUT)/bench/empty_programs.bpf.o $(OUTPUT)/bench/least_work.bpf.o: $(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c \
		$(OUTPUT)/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/empty_programs: bench/empty_programs.c | $(OUTPUT)/bench $(OUTPUT)/bench/empty_programs.bpf.o \
		$(OUTPUT)/bench/least_work.bpf.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< -lbpf -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Isrc $(SWEEP_CFLAGS) -MMD -MP $< $(LIB_OBJS) $(LDLIBS) -lm -lcmocka -o $@

unit-test: $(UNIT_BINS)
	$(Q)scripts/run-unit-tests.sh $(UNIT_BINS)

# promtool on the scrape config and the rules (with their unit tests), and the
# KEDA, HPA and dashboard files; no root needed.
deploy-test:
	$(Q)$(PYTHON) tests/integration/check_deploy.py

integration-test: $(OUTPUT)/runway-bpfd $(OUTPUT)/runway-sweep
	$(Q)$(PYTHON) tests/integration/run.py --daemon $(OUTPUT)/runway-bpfd \
		--sweep $(OUTPUT)/runway-sweep

test: unit-test deploy-test integration-test

# libFuzzer on the HTTP framing (tests/fuzz/): whole vs byte by byte vs cut
# where the input says.  New inputs go to $(OUTPUT)/fuzz/corpus, a crash to
# $(OUTPUT)/fuzz/crash-*; tests/fuzz/corpus holds the seeds.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(OUTPUT)/fuzz
FUZZ_FLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -Iinclude \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(FUZZ_DIR)/fuzz_framing: tests/fuzz/fuzz_framing.c include/http_framing.h tests/unit/framing_driver.h
	$(Q)mkdir -p $(FUZZ_DIR)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $< -o $@

fuzz: $(FUZZ_DIR)/fuzz_framing
	$(Q)mkdir -p $(FUZZ_DIR)/corpus
	@# A small quarantine: every segment is a heap buffer of its own.
	$(Q)ASAN_OPTIONS=$${ASAN_OPTIONS:-quarantine_size_mb=16} $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus tests/fuzz/corpus

# The daemon and the unit tests built with AddressSanitizer and UBSan into
# $(OUTPUT)/sanitize (the BPF object is the same clang -target bpf build),
# then the unit tests and the integration tests of the daemon under load and
# scrapes (SANITIZE_TESTS) against the sanitized daemon.
SANITIZE_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SANITIZE_TESTS ?= -k ExactCounts_uvloop -k Throughput_uvloop -k HostileClients -k test_listeners \
	-k NodePods_systemd -k NodeLifecycle_systemd -k NodeUnixSocket

sanitize-test:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/sanitize EXTRA_CFLAGS="$(SANITIZE_FLAGS)" unit-test
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/sanitize EXTRA_CFLAGS="$(SANITIZE_FLAGS)" all
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(PYTHON) tests/integration/run.py --daemon $(OUTPUT)/sanitize/runway-bpfd $(SANITIZE_TESTS)

deps:
	$(Q)scripts/install-deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(OUTPUT)/runway-bpfd

# BENCH_ARGS: e.g. "--quick" (a few minutes) or "--only 7,node_cost" (some parts).
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(PYTHON) bench/run.py --daemon $(OUTPUT)/runway-bpfd $(BENCH_ARGS)

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/loadgen/*.d $(OUTPUT)/sweep/*.d \
	   $(OUTPUT)/bench/*.d)
