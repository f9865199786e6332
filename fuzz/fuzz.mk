# fuzz.mk: builds and runs tend's libFuzzer harnesses; included by the Makefile after LIB_SRC.
#   make fuzz-build                  the harnesses, into build/fuzz/
#   make fuzz [FUZZ_SECONDS=60]      each harness for that long; fails on a crash, leak or timeout
#   make fuzz-smoke                  the same for FUZZ_SMOKE_SECONDS (10) each, for make check
#   make fuzz-run-config             one harness (also fuzz-run-words, -devfiles, -proto, -nginx)
# `make -j2 fuzz` runs two harnesses at a time. Corpora grow in build/fuzz/corpus-NAME.

FUZZ_CC            ?= clang
FUZZ_DIR           ?= build/fuzz
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_RUN_SECONDS   ?= $(FUZZ_SECONDS)
FUZZ_NAMES         := config words devfiles proto nginx
FUZZ_PKG_CONFIG    := $(or $(PKG_CONFIG),pkg-config)

# The library is built with coverage and sanitizers of its own, apart from build/release.
# UB aborts (no recover) so that libFuzzer records it as a crash with its input.
FUZZ_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer -g -O1 -std=gnu11 -Iinclude -D_GNU_SOURCE -DWITH_SYSTEMD=0 \
                $(shell $(FUZZ_PKG_CONFIG) --cflags libuv inih 2>/dev/null)
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_LIBS    := $(shell $(FUZZ_PKG_CONFIG) --libs libuv inih 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_RUNS    := $(FUZZ_NAMES:%=fuzz-run-%)

# fuzz_config keeps include globs inside its sandbox directory (see fuzz_config.c).
FUZZ_LDFLAGS_config := -Wl,--wrap=glob

# Seeds: fuzz_config starts from the test configs and the real-world corpus, copied into
# one directory (libFuzzer takes directories); the others from their hand-written sets.
FUZZ_CONFIG_SEEDS := $(wildcard tests/configs/bad/*.ini tests/configs/host/*.ini \
                                tests/corpus/supervisord/*.conf fuzz/seeds/config/*) \
                     examples/tend.ini
FUZZ_SEEDS_config := $(FUZZ_DIR)/seeds-config
FUZZ_SEEDS_words  := fuzz/seeds/words
FUZZ_SEEDS_devfiles := fuzz/seeds/devfiles
FUZZ_SEEDS_proto  := fuzz/seeds/proto
FUZZ_SEEDS_nginx  := fuzz/seeds/nginx
FUZZ_DICT_config  := -dict=fuzz/config.dict
FUZZ_DICT_words   :=
FUZZ_DICT_devfiles :=
FUZZ_DICT_proto   := -dict=fuzz/proto.dict
FUZZ_DICT_nginx   :=

FUZZ_OPTS := -timeout=5 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1
FUZZ_ENV  := ASAN_OPTIONS=detect_leaks=1 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Whoever includes this file keeps its default goal (all), wherever the include sits.
fuzz_saved_goal := $(.DEFAULT_GOAL)

.PHONY: fuzz fuzz-build fuzz-smoke $(FUZZ_RUNS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Wall -Wextra -Werror -MMD -MP -c -o $@ $<

# An archive, so each harness links only the modules it reaches.
$(FUZZ_DIR)/libtend-fuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/fuzz/fuzz_%.o $(FUZZ_DIR)/libtend-fuzz.a
	@echo "  FUZZLD $@"
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) $(FUZZ_LDFLAGS_$*) -o $@ $^ $(FUZZ_LIBS)

$(FUZZ_SEEDS_config): $(FUZZ_CONFIG_SEEDS)
	$(Q)rm -rf $@ && mkdir -p $@
	$(Q)for f in $^; do cp "$$f" "$@/$$(echo "$$f" | tr / _)"; done

fuzz-run-config: $(FUZZ_SEEDS_config)

# Kept, so that a second make links nothing.
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz/fuzz_%.o)

# One harness for $(FUZZ_RUN_SECONDS): the full log goes to build/fuzz/fuzz_NAME.log,
# one line of totals to the terminal; on a finding, where its input was saved.
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@mkdir -p $(FUZZ_DIR)/corpus-$* $(FUZZ_DIR)/artifacts-$*
	@log=$(FUZZ_DIR)/fuzz_$*.log; \
	$(FUZZ_ENV) $(FUZZ_DIR)/fuzz_$* $(FUZZ_OPTS) -max_total_time=$(FUZZ_RUN_SECONDS) \
	  -artifact_prefix=$(FUZZ_DIR)/artifacts-$*/ $(FUZZ_DICT_$*) \
	  $(FUZZ_DIR)/corpus-$* $(FUZZ_SEEDS_$*) </dev/null >$$log 2>&1; rc=$$?; \
	runs=$$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' $$log | tail -n 1); \
	[ -n "$$runs" ] || runs=$$(grep -o '^#[0-9]*' $$log | tail -n 1 | tr -d '#'); \
	cov=$$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' $$log | tail -n 1); \
	if [ $$rc -eq 0 ]; then \
	  echo "fuzz_$*: $${runs:-?} runs in $(FUZZ_RUN_SECONDS) s, $${cov:-no coverage line}"; \
	else \
	  found=$$(sed -n 's/.*Test unit written to \(.*\)/\1/p' $$log | tail -n 1); \
	  why=$$(sed -n 's/^fuzz_$*: //p' $$log | head -n 1); \
	  [ -n "$$why" ] || why=$$(grep -m 1 -o 'ERROR: [A-Za-z]*: [^(]*' $$log); \
	  echo "fuzz_$*: FAILED (exit $$rc) after $${runs:-0} runs: $${why:-see the log}"; \
	  echo "fuzz_$*:   input: $${found:-none saved}; log: $$log"; \
	  exit 1; \
	fi

fuzz: FUZZ_RUN_SECONDS = $(FUZZ_SECONDS)
fuzz: $(FUZZ_RUNS)

fuzz-smoke: FUZZ_RUN_SECONDS = $(FUZZ_SMOKE_SECONDS)
fuzz-smoke: $(FUZZ_RUNS)

.DEFAULT_GOAL := $(fuzz_saved_goal)
