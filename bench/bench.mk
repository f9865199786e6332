# bench/bench.mk: `make bench`, tend side by side with supervisord, tini and dumb-init.
# Included by the main Makefile (`-include bench/bench.mk`); on its own:
#   make -f Makefile -f bench/bench.mk bench
# Options for bench/run go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--only 2,4 --quick".
BENCH_OUT  ?= build/bench
BENCH_ARGS ?=
# command:Debian package
BENCH_PEERS := supervisord:supervisor supervisorctl:supervisor tini:tini tini-static:tini \
               dumb-init:dumb-init \
               hyperfine:hyperfine unshare:util-linux
BENCH_HELPERS := $(BENCH_OUT)/stamp $(BENCH_OUT)/orphans $(BENCH_OUT)/floor \
                 $(BENCH_OUT)/checkfloor
# tendctl too where the tree has it (the control scenario is skipped without it)
BENCH_BUILD := tend $(if $(wildcard src/ctl.c),tendctl)

.PHONY: bench bench-deps bench-static

bench: bench-deps $(BENCH_BUILD) $(BENCH_HELPERS) bench-static
	/usr/bin/python3 bench/run $(BENCH_ARGS)

# The static tend for scenario 10; without static libraries the bench goes on and
# scenario 10 says it was skipped.
bench-static:
	-$(Q)$(MAKE) --no-print-directory static

# The peers, from Debian, when missing.
bench-deps:
	@missing=""; \
	for p in $(BENCH_PEERS); do \
	  command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "bench: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Small C probes: stamp (a start timestamp, then exec), orphans (N orphans, one deadline),
# floor (N processes forked and exec'd with nothing else: scenario 11's floor).
# checkfloor (N tcp connects a second: scenario 12's floor).
$(BENCH_OUT)/%: bench/helpers/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
