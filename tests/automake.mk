# tests: one cmocka program per module, plus integration scripts.
TEST_LDADD = flowtable/libflowtable.a $(CMOCKA_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests

UNIT_TESTS = \
	tests/test-flow \
	tests/test-emc \
	tests/test-rewrite \
	tests/test-cls \
	tests/test-meta-flow \
	tests/test-ofp-parse \
	tests/test-mac-learning \
	tests/test-ofproto
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_test_flow_SOURCES = tests/test-flow.c tests/pkt-build.h tests/pkt-build.c
tests_test_flow_CFLAGS = $(TEST_CFLAGS)
tests_test_flow_LDADD = $(TEST_LDADD)
tests_test_emc_SOURCES = tests/test-emc.c tests/pkt-build.h tests/pkt-build.c
tests_test_emc_CFLAGS = $(TEST_CFLAGS)
tests_test_emc_LDADD = $(TEST_LDADD)
tests_test_rewrite_SOURCES = tests/test-rewrite.c tests/pkt-build.h tests/pkt-build.c
tests_test_rewrite_CFLAGS = $(TEST_CFLAGS)
tests_test_rewrite_LDADD = $(TEST_LDADD)
tests_test_cls_SOURCES = tests/test-cls.c
tests_test_cls_CFLAGS = $(TEST_CFLAGS) -DCLASSBENCH_DIR='"$(abs_top_srcdir)/../shared/classbench"'
tests_test_cls_LDADD = $(TEST_LDADD)
tests_test_meta_flow_SOURCES = tests/test-meta-flow.c
tests_test_meta_flow_CFLAGS = $(TEST_CFLAGS)
tests_test_meta_flow_LDADD = $(TEST_LDADD)
tests_test_ofp_parse_SOURCES = tests/test-ofp-parse.c
tests_test_ofp_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_ofp_parse_LDADD = $(TEST_LDADD)
tests_test_mac_learning_SOURCES = tests/test-mac-learning.c
tests_test_mac_learning_CFLAGS = $(TEST_CFLAGS)
tests_test_mac_learning_LDADD = $(TEST_LDADD)
tests_test_ofproto_SOURCES = tests/test-ofproto.c tests/pkt-build.h tests/pkt-build.c
tests_test_ofproto_CFLAGS = $(TEST_CFLAGS)
tests_test_ofproto_LDADD = $(TEST_LDADD)

# Datapath unit tests (need the DPDK EAL with --no-huge; no root needed for
# dummy/net_null/net_ring ports).
DP_UNIT_TESTS = tests/test-config tests/test-ctl tests/test-port
check_PROGRAMS += $(DP_UNIT_TESTS)
TESTS += $(DP_UNIT_TESTS)
DP_TEST_CFLAGS = $(TEST_CFLAGS) $(DPDK_CFLAGS) $(LIBNL_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS)
DP_TEST_LDADD = $(DATAPATH_LIBS) $(CMOCKA_LIBS)
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_config_LDADD = $(DP_TEST_LDADD)
tests_test_ctl_SOURCES = tests/test-ctl.c
tests_test_ctl_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_ctl_LDADD = $(DP_TEST_LDADD)
tests_test_port_SOURCES = tests/test-port.c
tests_test_port_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_port_LDADD = $(DP_TEST_LDADD)

# Integration tests: start sluiced and drive it over the control socket.
TESTS += tests/run-integration.sh
dist_noinst_SCRIPTS += tests/run-integration.sh
EXTRA_DIST += tests/integration

# Real-VM test guest (tests/integration/test_vm.py): builder and QEMU
# helpers.
EXTRA_DIST += tests/vm
