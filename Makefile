# annals: make, make test, make demo, make sanitize, make bench,
# make install PREFIX=... DESTDIR=..., make clean (DESIGN §9).

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc

# Debian packages the build, the tests and the demo need; tools/deps.sh
# installs the missing ones as root, else names the apt-get line to run.
DEB_PKGS = gcc libc6-dev make pkg-config liblmdb-dev lmdb-utils \
           libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
           libssl-dev libjansson-dev libcsv-dev libunistring-dev \
           libcunit1-dev iso-codes man-db jq \
           clang libclang-rt-14-dev valgrind strace util-linux passwd \
           libsqlite3-dev

PKGS     = lmdb libprotobuf-c libcrypto jansson
# Recursively expanded, so pkg-config runs after the packages are installed.
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS))
DEP_LIBS   = $(shell pkg-config --libs $(PKGS)) -lcsv -lunistring -pthread

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -fPIC \
           -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wpointer-arith -Wvla
ifdef SANITIZE                  # make test SANITIZE=address,undefined
CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
           -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CPPFLAGS += -iquote ledger -I$(BUILD)/gen

LIB_SRCS = $(wildcard ledger/*.c)
LIB_OBJS = $(LIB_SRCS:ledger/%.c=$(BUILD)/ledger/%.o) \
           $(BUILD)/gen/annals.pb-c.o $(BUILD)/gen/countries.o
CMD_SRCS = $(filter-out tools/gen_%.c tools/bench%.c,$(wildcard tools/*.c))
CMD_OBJS = $(CMD_SRCS:tools/%.c=$(BUILD)/tools/%.o)
TEST_SRCS = $(wildcard tests/test_*.c) tests/run.c $(wildcard tests/fixture*.c)
TEST_OBJS = $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.o)

DEPS_STAMP = $(BUILD)/.deps

# Reliability suites (issue 8): killshim.so is an LD_PRELOAD library that
# raises SIGKILL at the Nth write or sync call; tamper changes stored bytes
# through LMDB directly; the fuzz targets are tests/fuzz/fuzz_TARGET.c.
REL_BINS = $(BUILD)/reliability/killshim.so $(BUILD)/reliability/tamper
FUZZ_TARGETS = ndjson csv pb date envelope body fold
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz

.PHONY: all test demo sanitize install clean deps bench check-unit check-shell \
        check-reliability check-fuzz-regressions fuzz fuzz-bins
all: $(BUILD)/annals $(BUILD)/libannals.a $(BUILD)/libannals.so $(BUILD)/annals.pc

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	@sh tools/deps.sh $(DEB_PKGS)
	@mkdir -p $(@D) && touch $@

$(BUILD)/gen/annals.pb-c.c $(BUILD)/gen/annals.pb-c.h: proto/annals.proto | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen proto/annals.proto

$(BUILD)/gen_countries: tools/gen_countries.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror $(DEP_CFLAGS) -o $@ $< $(DEP_LIBS)

$(BUILD)/gen/countries.c: $(BUILD)/gen_countries
	@mkdir -p $(@D)
	$(BUILD)/gen_countries /usr/share/iso-codes/json/iso_3166-1.json \
	    /usr/share/iso-codes/json/iso_3166-3.json > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/annals.pb-c.h
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/ledger/%.o: ledger/%.c $(BUILD)/gen/annals.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tools/%.o: tools/%.c $(BUILD)/gen/annals.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c $(BUILD)/gen/annals.pb-c.h $(BUILD)/tests/suites.inc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(BUILD)/tests $(CFLAGS) $(DEP_CFLAGS) -MMD -MP -c -o $@ $<

# Every tests/test_NAME.c defines void suite_NAME(void); run.c calls each.
$(BUILD)/tests/suites.inc: $(wildcard tests/test_*.c)
	@mkdir -p $(@D)
	@for f in $(sort $(wildcard tests/test_*.c)); do \
	    n=$${f#tests/test_}; echo "SUITE($${n%.c})"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/libannals.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libannals.so: $(LIB_OBJS)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libannals.so.0 -o $@ $^ $(DEP_LIBS)

$(BUILD)/annals: $(CMD_OBJS) $(BUILD)/libannals.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/test_run: $(TEST_OBJS) $(BUILD)/libannals.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) $(shell pkg-config --libs cunit)

$(BUILD)/annals.pc: Makefile
	@mkdir -p $(@D)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: annals\nDescription: event-sourced, verifiable ledger of diplomatic and legal status changes\nVersion: 0.1.0\nRequires.private: lmdb libprotobuf-c libcrypto jansson\nLibs: -L$${libdir} -lannals\nLibs.private: -lcsv -lunistring -pthread\nCflags: -I$${includedir}\n' '$(PREFIX)' > $@

test: check-unit check-shell check-fuzz-regressions

check-unit: $(BUILD)/test_run
	$(BUILD)/test_run

check-shell: $(BUILD)/annals $(REL_BINS)
	@set -e; for t in $(sort $(wildcard tests/sh/test_*.sh)); do \
	    ANNALS=$(CURDIR)/$(BUILD)/annals bash $$t || exit 1; done

# ---- reliability (issue 8, docs/RELIABILITY.md) ----
$(BUILD)/reliability/killshim.so: tests/reliability/killshim.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -shared -Wall -Wextra -Werror \
	    -o $@ $< -ldl

$(BUILD)/reliability/tamper: tests/reliability/tamper.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< -llmdb

# Fuzz inputs replayed without libFuzzer: regressions and seed corpora.
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libannals.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< tests/fuzz/replay.c \
	    $(BUILD)/libannals.a $(DEP_LIBS)

check-fuzz-regressions: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(BUILD)/fuzz/replay_$$t tests/fuzz/regressions/$$t tests/fuzz/corpus/$$t; done

check-reliability: $(BUILD)/annals $(REL_BINS) check-fuzz-regressions | $(DEPS_STAMP)
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang \
	    SANITIZE=fuzzer-no-link,address,undefined fuzz-bins
	@rc=0; for t in $(sort $(wildcard tests/reliability/test_*.sh)); do \
	    ANNALS=$(CURDIR)/$(BUILD)/annals REL_BUILD=$(CURDIR)/$(BUILD)/reliability \
	    FUZZ_BUILD=$(CURDIR)/$(FUZZ_BUILD) bash $$t || rc=1; done; exit $$rc

# libFuzzer with ASan and UBSan: the library is built with clang in
# $(FUZZ_BUILD); each target runs FUZZ_SECONDS on its seed corpus (a copy
# grows in $(FUZZ_BUILD)/corpus), crashes land in $(FUZZ_BUILD)/crashes.
fuzz: | $(DEPS_STAMP)
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang \
	    SANITIZE=fuzzer-no-link,address,undefined fuzz-bins
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libannals.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(BUILD)/libannals.a $(DEP_LIBS)

sanitize:
	$(MAKE) BUILD=build-san SANITIZE=address,undefined test

# make bench [BENCH_EVENTS=10000000]: tools/bench*.c against libannals and
# SQLite (DESIGN §10); temporary files go under $TMPDIR, else $(BUILD)/bench.
BENCH_EVENTS ?= 1000000
BENCH_SRCS = $(wildcard tools/bench*.c)
$(BUILD)/annals-bench: $(BENCH_SRCS) tools/bench.h $(BUILD)/libannals.a | $(DEPS_STAMP)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -o $@ $(BENCH_SRCS) \
	    $(BUILD)/libannals.a $(LDFLAGS) $(DEP_LIBS) -lsqlite3

bench: $(BUILD)/annals-bench
	@mkdir -p $(BUILD)/bench
	BENCH_EVENTS=$(BENCH_EVENTS) $(BUILD)/annals-bench $${TMPDIR:-$(BUILD)/bench}

demo: $(BUILD)/annals
	@bash tools/demo.sh $(BUILD)/annals docs/examples/kazakhstan-taliban.ndjson $(BUILD)/demo.db

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/annals $(DESTDIR)$(PREFIX)/bin/annals
	install -m 0644 $(BUILD)/libannals.a $(DESTDIR)$(PREFIX)/lib/libannals.a
	install -m 0755 $(BUILD)/libannals.so $(DESTDIR)$(PREFIX)/lib/libannals.so.0
	ln -sf libannals.so.0 $(DESTDIR)$(PREFIX)/lib/libannals.so
	install -m 0644 ledger/ledger.h $(DESTDIR)$(PREFIX)/include/ledger.h
	install -m 0644 $(BUILD)/annals.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/annals.pc
	install -m 0644 docs/annals.1 $(DESTDIR)$(PREFIX)/share/man/man1/annals.1

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/*/*.d)
