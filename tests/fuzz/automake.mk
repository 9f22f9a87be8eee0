# tests/fuzz: libFuzzer targets (`make fuzz`, clang) and their replay
# programs (`make check`, the normal compiler): every seed in
# tests/fuzz/corpus/TARGET and every input in tests/fuzz/regressions/TARGET
# goes through the target's LLVMFuzzerTestOneInput().

# ---- Replay: check programs built like every other test. ----
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/flowtable \
	-I$(top_srcdir)/datapath -DFUZZ_DIR='"$(abs_top_srcdir)/tests/fuzz"'
FUZZ_REPLAY = \
	tests/fuzz/fuzz-flow-replay \
	tests/fuzz/fuzz-ofp-parse-replay \
	tests/fuzz/fuzz-cls-replay \
	tests/fuzz/fuzz-config-replay \
	tests/fuzz/fuzz-ctl-replay \
	tests/fuzz/fuzz-conntrack-replay \
	tests/fuzz/fuzz-tnl-replay \
	tests/fuzz/fuzz-ofp-msg-replay
check_PROGRAMS += $(FUZZ_REPLAY)
TESTS += $(FUZZ_REPLAY)

tests_fuzz_fuzz_flow_replay_SOURCES = tests/fuzz/fuzz-flow.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_flow_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"flow"'
tests_fuzz_fuzz_flow_replay_LDADD = flowtable/libflowtable.a

tests_fuzz_fuzz_ofp_parse_replay_SOURCES = tests/fuzz/fuzz-ofp-parse.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_ofp_parse_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"ofp-parse"'
tests_fuzz_fuzz_ofp_parse_replay_LDADD = flowtable/libflowtable.a

tests_fuzz_fuzz_cls_replay_SOURCES = tests/fuzz/fuzz-cls.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_cls_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"cls"'
tests_fuzz_fuzz_cls_replay_LDADD = flowtable/libflowtable.a

tests_fuzz_fuzz_config_replay_SOURCES = tests/fuzz/fuzz-config.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_config_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	$(JANSSON_CFLAGS) $(DPDK_CFLAGS) -I$(top_srcdir)/vhost \
	-DFUZZ_NAME='"config"'
tests_fuzz_fuzz_config_replay_LDADD = $(DATAPATH_LIBS)

tests_fuzz_fuzz_ctl_replay_SOURCES = tests/fuzz/fuzz-ctl.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_ctl_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS) -DFUZZ_NAME='"ctl"'
tests_fuzz_fuzz_ctl_replay_LDADD = $(DATAPATH_LIBS)

tests_fuzz_fuzz_conntrack_replay_SOURCES = tests/fuzz/fuzz-conntrack.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_conntrack_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"conntrack"'
tests_fuzz_fuzz_conntrack_replay_LDADD = flowtable/libflowtable.a -lpthread

tests_fuzz_fuzz_tnl_replay_SOURCES = tests/fuzz/fuzz-tnl.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_tnl_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"tnl"'
tests_fuzz_fuzz_tnl_replay_LDADD = flowtable/libflowtable.a

tests_fuzz_fuzz_ofp_msg_replay_SOURCES = tests/fuzz/fuzz-ofp-msg.c \
	tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_ofp_msg_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"ofp-msg"'
tests_fuzz_fuzz_ofp_msg_replay_LDADD = flowtable/libflowtable.a

# ---- libFuzzer targets: `make fuzz`.  Built by clang directly from the
# sources (not from the libraries), with their own sanitizer flags, so the
# normal build never needs clang.  Override FUZZ_CC / FUZZ_CFLAGS on the
# make command line if needed. ----
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -I$(top_srcdir)/flowtable -I$(top_srcdir)/datapath
# The flowtable sources, from the library's own list (.c files only).
FUZZ_FT_SRCS = `for f in $(flowtable_libflowtable_a_SOURCES); do \
	case $$f in *.c) echo $(top_srcdir)/$$f ;; esac; done`
FUZZ_TARGETS = \
	tests/fuzz/fuzz-flow \
	tests/fuzz/fuzz-ofp-parse \
	tests/fuzz/fuzz-cls \
	tests/fuzz/fuzz-config \
	tests/fuzz/fuzz-ctl \
	tests/fuzz/fuzz-conntrack \
	tests/fuzz/fuzz-tnl \
	tests/fuzz/fuzz-ofp-msg
CLEANFILES += $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
.PHONY: fuzz

tests/fuzz/fuzz-flow: $(top_srcdir)/tests/fuzz/fuzz-flow.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-flow.c $(FUZZ_FT_SRCS)
tests/fuzz/fuzz-ofp-parse: $(top_srcdir)/tests/fuzz/fuzz-ofp-parse.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-ofp-parse.c $(FUZZ_FT_SRCS)
tests/fuzz/fuzz-conntrack: $(top_srcdir)/tests/fuzz/fuzz-conntrack.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-conntrack.c $(FUZZ_FT_SRCS) -lpthread
tests/fuzz/fuzz-tnl: $(top_srcdir)/tests/fuzz/fuzz-tnl.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-tnl.c $(FUZZ_FT_SRCS)
tests/fuzz/fuzz-ofp-msg: $(top_srcdir)/tests/fuzz/fuzz-ofp-msg.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-ofp-msg.c $(FUZZ_FT_SRCS)
tests/fuzz/fuzz-cls: $(top_srcdir)/tests/fuzz/fuzz-cls.c \
		$(flowtable_libflowtable_a_SOURCES)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-cls.c $(FUZZ_FT_SRCS)
# The config loader checks port options against the port classes' tables
# and offload providers against the offload classes: config.c and
# port-options.c are instrumented, the classes come from libdatapath.a
# (which needs libflowtable.a after it).
tests/fuzz/fuzz-config: $(top_srcdir)/tests/fuzz/fuzz-config.c \
		$(top_srcdir)/datapath/config.c $(top_srcdir)/datapath/config.h \
		$(top_srcdir)/datapath/port-options.c \
		$(top_srcdir)/datapath/port-options.h datapath/libdatapath.a \
		flowtable/libflowtable.a
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) \
		$(DPDK_CFLAGS) -I$(top_srcdir)/vhost -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-config.c \
		$(top_srcdir)/datapath/config.c \
		$(top_srcdir)/datapath/port-options.c \
		datapath/libdatapath.a flowtable/libflowtable.a $(DPDK_LIBS) \
		$(LIBNL_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) -lpthread
tests/fuzz/fuzz-ctl: $(top_srcdir)/tests/fuzz/fuzz-ctl.c \
		$(top_srcdir)/datapath/ctl.c $(top_srcdir)/datapath/ctl.h \
		$(top_srcdir)/datapath/log.c $(top_srcdir)/datapath/log.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) \
		$(LIBEVENT_CFLAGS) -o $@ \
		$(top_srcdir)/tests/fuzz/fuzz-ctl.c $(top_srcdir)/datapath/ctl.c \
		$(top_srcdir)/datapath/log.c $(JANSSON_LIBS) $(LIBEVENT_LIBS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regressions \
	tests/fuzz/ofp-parse.dict tests/fuzz/gen-corpus.py \
	tests/fuzz/gen-corpus-tnl.py
