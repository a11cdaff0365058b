# vmkemu: the one non-recursive Makefile.
#
# Sources are found by folder, so adding a file needs no edit here:
#   LIB_DIRS/*.c               -> libvmkemu.a (everything but main programs)
#   system/*.c                 -> the vmkemu program
#   tools/NAME/*.c             -> the program NAME
#   tests/unit/test-*.c        -> one TAP test program each
#   tests/guest/*.asm          -> flat test-guest images (nasm -f bin)
#   tests/**/*.t               -> TAP scripts, run in place by prove
#   tests/fuzz/fuzz-*.c        -> libFuzzer targets (clang), with the library
#                                 built again by clang under fuzz-build/
# Objects mirror the source tree inside the build directory, so in-tree and
# out-of-tree (mkdir b && cd b && ../configure) builds work alike.

ifndef VMK_CONFIG_INCLUDED
ifeq ($(wildcard config.mk),)
$(error config.mk not found: run ./configure first (autoreconf -i if there is no configure))
endif
include config.mk
endif

SRC := $(srcdir)
VPATH := $(SRC)

ALL_CFLAGS := -std=gnu11 -g -O2 -Wall -Wextra -Wno-unused-parameter \
              -Wno-missing-field-initializers $(WERROR) \
              -D_GNU_SOURCE -I. -I$(SRC)/include $(DEP_CFLAGS) $(SANITIZE) \
              $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANITIZE) $(LDFLAGS)
ALL_LIBS := $(DEP_LIBS) $(LIBS) -lm -lpthread

LIB_DIRS := hw/core hw accel target-i386 block net ui compat-esx qapi chardev util
srcs_in = $(patsubst $(SRC)/%,%,$(wildcard $(SRC)/$(1)/*.c))

LIB_SRCS := $(foreach d,$(LIB_DIRS),$(call srcs_in,$(d)))
LIB_OBJS := $(LIB_SRCS:.c=.o)
VMKEMU_OBJS := $(patsubst %.c,%.o,$(call srcs_in,system))

TOOL_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard $(SRC)/tools/*/*.c))))
TOOL_NAMES := $(sort $(TOOL_NAMES))
PROGRAMS := vmkemu $(TOOL_NAMES)

UNIT_TESTS := $(patsubst %.c,%,$(filter tests/unit/test-%,$(call srcs_in,tests/unit)))
GUEST_IMAGES := $(patsubst $(SRC)/%.asm,%.bin,$(wildcard $(SRC)/tests/guest/*.asm))
TEST_SCRIPTS := $(sort $(wildcard $(SRC)/tests/*/*.t))
TEST_HELPER_SRCS := $(call srcs_in,tests/lib)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:.c=.o)

# libFuzzer targets: clang's sanitizer runtime cannot mix with gcc's, so the
# library is compiled a second time, by clang, for them.
ifeq ($(HAVE_FUZZ),yes)
FUZZ_TARGETS := $(patsubst $(SRC)/%.c,%,$(wildcard $(SRC)/tests/fuzz/fuzz-*.c))
FUZZ_OBJS := $(addprefix fuzz-build/,$(LIB_OBJS))
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -I$(SRC)/include $(DEP_CFLAGS) \
               -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
               -Wno-unused-command-line-argument -Wno-gnu-variable-sized-type-not-at-end
endif

ALL_OBJS := $(LIB_OBJS) $(VMKEMU_OBJS) $(TEST_HELPER_OBJS) \
            $(foreach t,$(TOOL_NAMES),$(patsubst %.c,%.o,$(call srcs_in,tools/$(t)))) \
            $(addsuffix .o,$(UNIT_TESTS))

.PHONY: all check check-build check-cpu-full clean distclean demo
all: $(PROGRAMS)

# `make V=1` shows whole command lines.
Q := $(if $(V),,@)
show = $(if $(V),,@printf '  %-6s %s\n' $(1) $@;)

%.o: %.c
	@mkdir -p $(@D)
	$(call show,CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

libvmkemu.a: $(LIB_OBJS)
	$(call show,AR)rm -f $@; $(AR) rcs $@ $^

vmkemu: $(VMKEMU_OBJS) libvmkemu.a
	$(call show,LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

define tool_rule
$(1): $(patsubst %.c,%.o,$(call srcs_in,tools/$(1))) libvmkemu.a
	$$(call show,LINK)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(ALL_LIBS)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

$(UNIT_TESTS): %: %.o $(TEST_HELPER_OBJS) libvmkemu.a
	$(call show,LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

tests/guest/%.bin: tests/guest/%.asm
	@mkdir -p $(@D)
	$(call show,NASM)$(NASM) -f bin -I$(SRC)/tests/guest/ -M -MT $@ -MP $< > $@.d && \
	  $(NASM) -f bin -I$(SRC)/tests/guest/ -o $@ $<

fuzz-build/%.o: %.c
	@mkdir -p $(@D)
	$(call show,CLANG)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

fuzz-build/libvmkemu.a: $(FUZZ_OBJS)
	$(call show,AR)rm -f $@; $(AR) rcs $@ $^

$(FUZZ_TARGETS): %: %.c fuzz-build/libvmkemu.a
	@mkdir -p $(@D)
	$(call show,CLANG)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEP_LIBS) -lm -lpthread

check-build: $(PROGRAMS) $(UNIT_TESTS) $(GUEST_IMAGES) $(FUZZ_TARGETS)

# The whole test suite; prove ends with its summary (Result: PASS/FAIL).
check: check-build
	VMKEMU_BUILD=$(abspath .) VMKEMU_SRC=$(SRC) \
	  $(PROVE) -j2 --timer $(UNIT_TESTS) $(TEST_SCRIPTS)

# The CPU emulator's host comparisons at the acceptance size (issue 3:
# 10,000 random cases per instruction form); `make check` runs fewer.
check-cpu-full: tests/unit/test-x86-alu tests/unit/test-x86-sse
	VMKEMU_X86_CASES=10000 $(PROVE) --timer tests/unit/test-x86-alu tests/unit/test-x86-sse

demo: vmkemu
	VMKEMU_BUILD=$(abspath .) VMKEMU_SRC=$(SRC) $(SRC)/scripts/demo

clean:
	rm -rf fuzz-build $(FUZZ_TARGETS)
	rm -f $(PROGRAMS) libvmkemu.a $(ALL_OBJS) $(ALL_OBJS:.o=.d) $(UNIT_TESTS) $(GUEST_IMAGES) $(GUEST_IMAGES:=.d)

distclean: clean
	rm -f config.mk config.h config.log config.status GNUmakefile

-include $(ALL_OBJS:.o=.d) $(GUEST_IMAGES:=.d) $(FUZZ_OBJS:.o=.d)
