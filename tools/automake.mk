# tools/: scripts a user or developer runs (not built, distributed).
dist_noinst_SCRIPTS += \
	tools/bench \
	tools/bench-offload \
	tools/bench-vhost \
	tools/bench-control \
	tools/bench-openflow \
	tools/bench-restart \
	tools/bench-tunnel \
	tools/bench-tso \
	tools/demo-overlay.sh \
	tools/install-bench-deps.sh

# Installed for users and packagers (make install, DESTDIR and the
# directory variables honoured): the man pages, the systemd unit (sbindir
# and sysconfdir substituted), an example config in $(sysconfdir)/sluice.
dist_man_MANS = docs/man/sluiced.8 docs/man/sluice-ofctl.8
systemdsystemunit_DATA = tools/sluiced.service
sluiceconfdir = $(sysconfdir)/sluice
dist_sluiceconf_DATA = docs/sluiced.json.example
EXTRA_DIST += tools/sluiced.service.in
CLEANFILES += tools/sluiced.service
tools/sluiced.service: $(top_srcdir)/tools/sluiced.service.in Makefile
	@$(MKDIR_P) tools
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(top_srcdir)/tools/sluiced.service.in > $@.tmp && mv $@.tmp $@

# A test and benchmark peer for checksum and segmentation offload: two
# virtio-user "guests" (a TSO sender and a checking receiver).
noinst_PROGRAMS += tools/vtcp-peer
tools_vtcp_peer_SOURCES = tools/vtcp-peer.c
tools_vtcp_peer_CFLAGS = $(AM_CFLAGS) $(DPDK_CFLAGS)
tools_vtcp_peer_LDADD = $(DPDK_LIBS)
