# tests: one cmocka program per module, plus integration scripts.
TEST_LDADD = flowtable/libflowtable.a $(CMOCKA_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests

UNIT_TESTS = \
	tests/test-flow \
	tests/test-emc \
	tests/test-exact-gate \
	tests/test-hkey \
	tests/test-rewrite \
	tests/test-cls \
	tests/test-cls-collide \
	tests/test-meta-flow \
	tests/test-ofp-parse \
	tests/test-ofp-msg \
	tests/test-mac-learning \
	tests/test-ofproto \
	tests/test-conntrack \
	tests/test-tnl \
	tests/test-pkt-ol
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_test_flow_SOURCES = tests/test-flow.c tests/pkt-build.h tests/pkt-build.c
tests_test_flow_CFLAGS = $(TEST_CFLAGS)
tests_test_flow_LDADD = $(TEST_LDADD)
tests_test_emc_SOURCES = tests/test-emc.c tests/pkt-build.h tests/pkt-build.c
tests_test_emc_CFLAGS = $(TEST_CFLAGS)
tests_test_emc_LDADD = $(TEST_LDADD)
tests_test_exact_gate_SOURCES = tests/test-exact-gate.c
tests_test_exact_gate_CFLAGS = $(TEST_CFLAGS)
tests_test_exact_gate_LDADD = $(TEST_LDADD)
tests_test_hkey_SOURCES = tests/test-hkey.c tests/pkt-build.h tests/pkt-build.c
tests_test_hkey_CFLAGS = $(TEST_CFLAGS)
tests_test_hkey_LDADD = $(TEST_LDADD)
tests_test_rewrite_SOURCES = tests/test-rewrite.c tests/pkt-build.h tests/pkt-build.c
tests_test_rewrite_CFLAGS = $(TEST_CFLAGS)
tests_test_rewrite_LDADD = $(TEST_LDADD)
tests_test_cls_SOURCES = tests/test-cls.c tests/cls-mask-pool.h
tests_test_cls_CFLAGS = $(TEST_CFLAGS) -DCLASSBENCH_DIR='"$(abs_top_srcdir)/tests/data/classbench"'
tests_test_cls_LDADD = $(TEST_LDADD)
# The same tests on a classifier whose hashes take 3 bits: keys collide, so
# every key comparison (not only the hash) decides.
tests_test_cls_collide_SOURCES = tests/test-cls.c flowtable/cls.c
tests_test_cls_collide_CFLAGS = $(TEST_CFLAGS) -DCLS_HASH_BITS=3 \
	-DCLASSBENCH_DIR='"$(abs_top_srcdir)/tests/data/classbench"'
tests_test_cls_collide_LDADD = $(TEST_LDADD)
tests_test_meta_flow_SOURCES = tests/test-meta-flow.c
tests_test_meta_flow_CFLAGS = $(TEST_CFLAGS)
tests_test_meta_flow_LDADD = $(TEST_LDADD)
tests_test_ofp_parse_SOURCES = tests/test-ofp-parse.c
tests_test_ofp_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_ofp_parse_LDADD = $(TEST_LDADD)
tests_test_ofp_msg_SOURCES = tests/test-ofp-msg.c
tests_test_ofp_msg_CFLAGS = $(TEST_CFLAGS)
tests_test_ofp_msg_LDADD = $(TEST_LDADD)
tests_test_mac_learning_SOURCES = tests/test-mac-learning.c
tests_test_mac_learning_CFLAGS = $(TEST_CFLAGS)
tests_test_mac_learning_LDADD = $(TEST_LDADD)
# The daemon's log module is libc-only: built into its test directly.
UNIT_TESTS += tests/test-log
tests_test_log_SOURCES = tests/test-log.c datapath/log.h datapath/log.c
tests_test_log_CFLAGS = $(TEST_CFLAGS)
tests_test_log_LDADD = $(CMOCKA_LIBS) -lpthread
tests_test_ofproto_SOURCES = tests/test-ofproto.c tests/pkt-build.h tests/pkt-build.c
tests_test_ofproto_CFLAGS = $(TEST_CFLAGS)
tests_test_ofproto_LDADD = $(TEST_LDADD)
tests_test_conntrack_SOURCES = tests/test-conntrack.c tests/pkt-build.h tests/pkt-build.c
tests_test_conntrack_CFLAGS = $(TEST_CFLAGS)
tests_test_conntrack_LDADD = $(TEST_LDADD) -lpthread

tests_test_tnl_SOURCES = tests/test-tnl.c tests/pkt-build.h tests/pkt-build.c
tests_test_tnl_CFLAGS = $(TEST_CFLAGS)
tests_test_tnl_LDADD = $(TEST_LDADD)
tests_test_pkt_ol_SOURCES = tests/test-pkt-ol.c tests/pkt-build.h tests/pkt-build.c
tests_test_pkt_ol_CFLAGS = $(TEST_CFLAGS)
tests_test_pkt_ol_LDADD = $(TEST_LDADD)

# Datapath unit tests (need the DPDK EAL with --no-huge; no root needed for
# dummy/net_null/net_ring ports).
DP_UNIT_TESTS = tests/test-config tests/test-ctl tests/test-port tests/test-dp \
	tests/test-tnl-route
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
tests_test_port_SOURCES = tests/test-port.c tests/eal-test.h \
	tests/pkt-build.h tests/pkt-build.c
tests_test_port_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_port_LDADD = $(DP_TEST_LDADD)
tests_test_dp_SOURCES = tests/test-dp.c tests/eal-test.h tests/pkt-build.h \
	tests/pkt-build.c
tests_test_dp_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_dp_LDADD = $(DP_TEST_LDADD)
tests_test_tnl_route_SOURCES = tests/test-tnl-route.c
tests_test_tnl_route_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_tnl_route_LDADD = $(DP_TEST_LDADD)

# Integration tests: start sluiced and drive it over the control socket.
TESTS += tests/run-integration.sh
dist_noinst_SCRIPTS += tests/run-integration.sh
EXTRA_DIST += tests/integration

# Real-VM test guest (tests/integration/test_vm.py): builder and QEMU
# helpers.
EXTRA_DIST += tests/vm

# Offload (issue 4): translation and the rte_flow provider with rte_flow_*
# wrapped at link time; the simulated NIC.
OFFLOAD_WRAPS = -Wl,--wrap=rte_flow_validate -Wl,--wrap=rte_flow_create \
	-Wl,--wrap=rte_flow_destroy -Wl,--wrap=rte_flow_query \
	-Wl,--wrap=rte_flow_flush -Wl,--wrap=rte_flow_get_aged_flows \
	-Wl,--wrap=rte_flow_pick_transfer_proxy \
	-Wl,--wrap=port_get_dpdk_port_id -Wl,--wrap=port_get_rx_metadata \
	-Wl,--wrap=rte_eth_dev_callback_register \
	-Wl,--wrap=rte_eth_dev_callback_unregister \
	-Wl,--wrap=rte_eth_dev_info_get
check_PROGRAMS += tests/test-offload tests/test-simnic
TESTS += tests/test-offload tests/test-simnic
tests_test_offload_SOURCES = tests/test-offload.c
tests_test_offload_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_offload_LDFLAGS = $(OFFLOAD_WRAPS)
tests_test_offload_LDADD = $(DP_TEST_LDADD)
tests_test_simnic_SOURCES = tests/test-simnic.c tests/eal-test.h tests/pkt-build.h tests/pkt-build.c
tests_test_simnic_CFLAGS = $(DP_TEST_CFLAGS)
tests_test_simnic_LDADD = $(DP_TEST_LDADD)

# ClassBench rule sets and traces (tests/data/classbench/README.md): read by
# test-cls and tools/bench.
EXTRA_DIST += tests/data/classbench
EXTRA_DIST += tests/test-rand.h
