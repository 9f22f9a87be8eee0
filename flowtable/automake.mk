# flowtable: pure data structures, libc only.
noinst_LIBRARIES += flowtable/libflowtable.a
flowtable_libflowtable_a_SOURCES = \
	flowtable/flow.h flowtable/flow.c \
	flowtable/meta-flow.h flowtable/meta-flow.c \
	flowtable/actions.h flowtable/actions.c \
	flowtable/cls.h flowtable/cls.c \
	flowtable/conntrack.h flowtable/conntrack.c flowtable/ct-private.h \
	flowtable/ct-tcp.c flowtable/ct-nat.c \
	flowtable/emc.h flowtable/emc.c \
	flowtable/exact-gate.h \
	flowtable/hkey.h \
	flowtable/hkc.h flowtable/hkc.c \
	flowtable/packet-rewrite.h flowtable/packet-rewrite.c \
	flowtable/csum.h flowtable/pkt-ol.h flowtable/pkt-ol.c \
	flowtable/ofp-parse.h flowtable/ofp-parse.c \
	flowtable/ofp-msg.h flowtable/ofp-msg.c \
	flowtable/mac-learning.h flowtable/mac-learning.c \
	flowtable/ofproto.h flowtable/ofproto.c \
	flowtable/tnl.h flowtable/tnl.c \
	flowtable/util.h flowtable/util.c
