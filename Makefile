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
	  -DRUNWAY_VERSION='"$(VERSION)"'
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
.PHONY: all clean test unit-test integration-test demo bench deps

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

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Isrc $(SWEEP_CFLAGS) -MMD -MP $< $(LIB_OBJS) $(LDLIBS) -lm -lcmocka -o $@

unit-test: $(UNIT_BINS)
	$(Q)scripts/run-unit-tests.sh $(UNIT_BINS)

integration-test: $(OUTPUT)/runway-bpfd $(OUTPUT)/runway-sweep
	$(Q)$(PYTHON) tests/integration/run.py --daemon $(OUTPUT)/runway-bpfd \
		--sweep $(OUTPUT)/runway-sweep

test: unit-test integration-test

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
