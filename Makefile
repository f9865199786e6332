# tend — build, test, install. `make help` lists the targets.
.DEFAULT_GOAL := all
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build/release
CFLAGS   ?= -O2 -g
PYTEST   ?= /usr/bin/python3 -m pytest
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKG_CONFIG ?= pkg-config
WITH_SYSTEMD ?= $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo 1 || echo 0)
PKGS := libuv inih
# libsystemd: its headers only; notify.c loads it when systemd asks (see there)
SYSTEMD_CFLAGS := $(if $(filter 1,$(WITH_SYSTEMD)),$(shell $(PKG_CONFIG) --cflags libsystemd 2>/dev/null))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Wundef -Wcast-align \
        -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers
override CPPFLAGS += -Iinclude -D_GNU_SOURCE -DWITH_SYSTEMD=$(WITH_SYSTEMD)
override CFLAGS   += -std=gnu11 -fno-common $(WARN) $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) \
                    $(SYSTEMD_CFLAGS)
LIBS     := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

# The modules, leaves first. tend links all of them; tendctl only what it needs.
LIB_SRC := src/arena.c src/strconv.c src/diag.c src/json.c src/log.c src/shellwords.c \
           src/expand.c src/envlist.c src/cpus.c src/inifile.c src/config.c \
           src/config_program.c src/config_nginx.c src/check.c src/signals.c src/reaper.c \
           src/pid1.c src/spawn.c src/initmode.c src/proc_fsm.c src/backoff.c src/ring.c \
           src/output.c src/logfile.c src/childio.c src/readiness.c src/supervisor.c \
           src/nginx_conf.c src/nginx.c src/rollout.c src/supervisor_admin.c src/proto.c \
           src/control.c src/commands.c src/textfile.c src/procfile.c src/dotenv.c src/watch.c \
           src/notify.c src/run.c src/dev.c
TEND_SRC := src/main.c
CTL_SRC  := src/ctl.c src/proto.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
-include fuzz/fuzz.mk
-include bench/bench.mk
TEND_OBJ := $(TEND_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ  := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

.PHONY: all check check-full check-valgrind unit asan asan-build chaos install demo bench clean help deps format tend tendctl
all: tend tendctl

tend: $(BUILD)/tend
	$(Q)rm -f $@ && cp $< $@

tendctl: $(BUILD)/tendctl
	$(Q)rm -f $@ && cp $< $@

# tendctl is libc only: it starts fast and needs no libuv
$(BUILD)/tendctl: $(CTL_OBJ)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/tend: $(TEND_OBJ) $(BUILD)/libtend.a
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libtend.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libtend.a
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	@scripts/deps.sh

# Every tier: unit (cmocka), golden files and black-box (pytest, real binaries), and a
# short run of each fuzzer.
check: deps
	$(MAKE) all unit fuzz-build
	@BUILD=$(BUILD) PYTEST="$(PYTEST)" FUZZ=1 scripts/run-tests

ASAN_BUILD := BUILD=build/asan LDFLAGS="-fsanitize=address,undefined" \
              CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

asan: deps
	$(MAKE) $(ASAN_BUILD) build/asan/tend build/asan/tendctl unit
	@BUILD=build/asan PYTEST="$(PYTEST)" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 scripts/run-tests

asan-build: deps
	$(MAKE) $(ASAN_BUILD) build/asan/tend build/asan/tendctl

# Model-based chaos (tests/chaos.py): random tendctl commands, kills, reloads and
# stalled tail -f readers against the ASan/UBSan tend as PID 1, checked against a
# model after every step. The seeds are printed; SEED=N runs that one again.
SEEDS ?= 5
STEPS ?= 500
SEED  ?=
chaos: asan-build
	@BUILD=build/asan /usr/bin/python3 tests/chaos.py --steps $(STEPS) \
	  $(if $(SEED),$(foreach s,$(SEED),--seed $(s)),--seeds $(SEEDS))

# The black-box suite once more with tend under valgrind's memcheck: an error or a
# definite leak in any tend process (forked children up to their exec too) fails it.
# Tests that measure tend's own process (memory, wake-ups) are left out (-m "not native").
VG_DIR := build/valgrind
# Each run of tend logs to a file of its own: as PID 1 of a namespace every tend is pid 1,
# so valgrind's %p would have each overwrite the last one's report.
check-valgrind: deps all
	@rm -rf $(VG_DIR) && mkdir -p $(VG_DIR)/logs
	@cp $(BUILD)/tend $(VG_DIR)/tend.bin && cp $(BUILD)/tendctl $(VG_DIR)/tendctl
	@printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --log-file=$$(mktemp %s/XXXXXX.log) %s "$$@"\n' \
	  "$(CURDIR)/$(VG_DIR)/logs" "$(CURDIR)/$(VG_DIR)/tend.bin" > $(VG_DIR)/tend && chmod +x $(VG_DIR)/tend
	@BUILD=$(VG_DIR) TEND_TEST_SLOWDOWN=$${TEND_TEST_SLOWDOWN:-6} PYTEST="$(PYTEST)" scripts/run-tests -m "not native"; rc=$$?; \
	 found=$$(find $(VG_DIR)/logs -type f -size +0 | wc -l); \
	 find $(VG_DIR)/logs -type f -size +0 -exec cat {} +; \
	 echo "valgrind: $$found tend processes with errors or definite leaks"; \
	 [ $$rc -eq 0 ] && [ $$found -eq 0 ]

# Every tier, then the same tests under ASan/UBSan and under valgrind.
check-full: check
	$(MAKE) asan
	$(MAKE) check-valgrind

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	           $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 tend $(DESTDIR)$(PREFIX)/bin/tend
	install -m 755 tendctl $(DESTDIR)$(PREFIX)/bin/tendctl
	install -m 644 man/tendctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/tendctl.1
	install -m 644 man/tend.8 $(DESTDIR)$(PREFIX)/share/man/man8/tend.8
	install -m 644 man/tend.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/tend.ini.5

demo: deps all
	@scripts/demo

# bench: see bench/bench.mk and bench/README.md

format:
	clang-format -i src/*.c src/*.h include/*.h tests/unit/*.c

clean:
	rm -rf build tend tendctl

help:
	@echo "make            build tend and tendctl"
	@echo "make check      install what is missing, build, run every test tier"
	@echo "make asan       the same tests with AddressSanitizer and UBSan"
	@echo "make chaos      random commands, kills and reloads against tend (ASan), checked"
	@echo "                against a model: SEEDS=5 STEPS=500, or SEED=N to replay one"
	@echo "make check-valgrind  the black-box tests with tend under valgrind memcheck"
	@echo "make check-full check, then asan and check-valgrind"
	@echo "make fuzz       each libFuzzer harness for FUZZ_SECONDS (60)"
	@echo "make demo       nginx on :8080 in front of 4 Node.js workers"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"

-include $(shell find build -name '*.d' 2>/dev/null)
