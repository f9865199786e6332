# tend — build, test, install. `make help` lists the targets.
.DEFAULT_GOAL := all
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build/release
CFLAGS   ?= -O2 -g -D_FORTIFY_SOURCE=2
PYTEST   ?= /usr/bin/python3 -m pytest
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKG_CONFIG ?= pkg-config
WITH_SYSTEMD ?= $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo 1 || echo 0)
PKGS := libuv inih
# libsystemd: its headers only; notify.c loads it when systemd asks (see there)
SYSTEMD_CFLAGS = $(if $(filter 1,$(WITH_SYSTEMD)),$(shell $(PKG_CONFIG) --cflags libsystemd 2>/dev/null))
# STATIC=1 (make static): tend and tendctl linked fully statically, libc included, for
# an image that holds nothing else. libsystemd is left out: a static binary cannot dlopen it.
STATIC ?= 0
ifeq ($(STATIC),1)
override WITH_SYSTEMD := 0
override LDFLAGS += -static-pie
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Wundef -Wcast-align \
        -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers
override CPPFLAGS += -Iinclude -D_GNU_SOURCE -DWITH_SYSTEMD=$(WITH_SYSTEMD) -DTEND_STATIC=$(STATIC)
# hardening: _FORTIFY_SOURCE above (it needs -O), a stack protector, PIE, full RELRO
override CFLAGS   += -std=gnu11 -fno-common -fstack-protector-strong -fPIE $(WARN) \
                    $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(SYSTEMD_CFLAGS)
override LDFLAGS  += $(if $(filter 1,$(STATIC)),,-pie) -Wl,-z,relro -Wl,-z,now
# Expanded when a link runs, not when this file is read: `make deps all` links against
# what deps has just installed. Debian names libuv's static library libuv-static.
LIBS      = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ifeq ($(STATIC),1)
LIBS      = $(shell $(PKG_CONFIG) --static --libs libuv-static inih 2>/dev/null)
endif

# The modules, leaves first. tend links all of them; tendctl only what it needs.
LIB_SRC := src/arena.c src/nearest.c src/index.c src/strbuf.c src/strconv.c src/diag.c src/json.c src/fd.c \
           src/log.c src/shellwords.c src/expand.c src/envlist.c src/cpus.c src/inifile.c \
           src/config_keys.c src/config.c \
           src/config_program.c src/config_nginx.c src/check.c src/signals.c src/reaper.c \
           src/pid1.c src/spawn.c src/initmode.c src/proc_fsm.c src/backoff.c src/ring.c src/lastexit.c src/oom.c \
           src/output.c src/logfile.c src/childio.c src/ports.c src/readiness.c src/supervisor.c \
           src/nginx_conf.c src/nginx.c src/rollout.c src/supervisor_admin.c src/supervisor_health.c src/supervisor_deps.c \
           src/supervisor_news.c src/supervisor_sys.c src/supervisor_lastexit.c src/heal.c src/proto.c \
           src/control.c src/commands.c src/health.c src/why.c src/textfile.c src/procfile.c src/dotenv.c src/watch.c \
           src/notify.c src/devnotes.c src/run.c src/dev.c
# reload: what changed between two configs, and the tendctl reload request
LIB_SRC  += src/config_diff.c src/reload_request.c
# files tend writes for others, and its own directories (a leaf: see safepath.h)
LIB_SRC  += src/safepath.c
# tendctl's own (linked into tendctl from CTL_SRC), here for the unit tests
LIB_SRC  += src/habits.c src/sockconf.c
TEND_SRC := src/main.c
CTL_SRC  := src/ctl.c src/proto.c src/fd.c src/nearest.c src/habits.c src/sockconf.c \
            src/expand.c src/arena.c src/strbuf.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
-include fuzz/fuzz.mk
-include bench/bench.mk
TEND_OBJ := $(TEND_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ  := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

.PHONY: all check check-full check-valgrind unit asan asan-build chaos install uninstall demo \
        bench clean help deps format tend tendctl static deb check-deb check-fresh
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

# Targets that install what is missing build in a make of their own, started after
# deps: this one read the Makefile before pkg-config, libuv or inih were there.

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
check-valgrind: deps
	$(Q)$(MAKE) --no-print-directory all
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

# Where `make install` puts things. The unit goes where systemd looks for the PREFIX:
# /usr/local/lib/systemd/system for /usr/local (Debian's package overrides it).
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALLED  := $(BINDIR)/tend $(BINDIR)/tendctl $(MANDIR)/man1/tendctl.1 $(MANDIR)/man5/tend.ini.5 \
              $(MANDIR)/man8/tend.8 $(UNITDIR)/tend.service

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	           $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 755 tend $(DESTDIR)$(BINDIR)/tend
	install -m 755 tendctl $(DESTDIR)$(BINDIR)/tendctl
	install -m 644 man/tendctl.1 $(DESTDIR)$(MANDIR)/man1/tendctl.1
	install -m 644 man/tend.ini.5 $(DESTDIR)$(MANDIR)/man5/tend.ini.5
	install -m 644 man/tend.8 $(DESTDIR)$(MANDIR)/man8/tend.8
	sed 's|/usr/local/bin/|$(BINDIR)/|' etc/tend.service > $(DESTDIR)$(UNITDIR)/tend.service
	chmod 644 $(DESTDIR)$(UNITDIR)/tend.service

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

demo:
	@scripts/deps.sh demo
	$(Q)$(MAKE) --no-print-directory all
	@scripts/demo

# tend and tendctl linked fully statically, for FROM scratch or distroless images:
# build/static/tend and build/static/tendctl. Needs only libuv1-dev and libinih-dev
# (Debian ships their static libraries there) and libc6-dev. glibc's linker warns
# that user lookups need its shared libraries at run time: the static tend reads
# /etc/passwd and /etc/group itself and asks nothing else (see README, "Static").
static:
	$(Q)$(MAKE) --no-print-directory BUILD=build/static STATIC=1 build/static/tend build/static/tendctl
	@echo "static: build/static/tend build/static/tendctl"

# The Debian package, built from what is committed (git archive HEAD) in build/deb/,
# then installed into a brand-new Debian 12 root: see scripts/check-deb.
deb:
	@scripts/check-deb --build-only

check-deb:
	@scripts/check-deb

# The README's two commands as a new user runs them, in a brand-new Debian 12 root
# (mmdebstrap, cached): make demo until it answers, then make check. Takes a while
# (about 15 minutes); not part of make check. See scripts/check-fresh.
check-fresh:
	@scripts/check-fresh

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
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) (make uninstall: the same files)"
	@echo "make static     build/static/tend and tendctl, linked fully statically"
	@echo "make deb        the Debian package, in build/deb/ (make check-deb: and test it)"
	@echo "make check-fresh  make demo and make check in a brand-new Debian 12 root"

-include $(shell find build -name '*.d' 2>/dev/null)
