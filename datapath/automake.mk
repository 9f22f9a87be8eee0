# datapath: the daemon (DPDK, libnl-3, libevent, jansson).
noinst_LIBRARIES += datapath/libdatapath.a
datapath_libdatapath_a_CFLAGS = $(AM_CFLAGS) $(DPDK_CFLAGS) $(LIBNL_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBEVENT_CFLAGS)
datapath_libdatapath_a_SOURCES = \
	datapath/config.h datapath/config.c \
	datapath/ctl.h datapath/ctl.c \
	datapath/port.h datapath/port-provider.h datapath/port-io.h datapath/port.c \
	datapath/port-ol.c \
	datapath/port-options.h datapath/port-options.c \
	datapath/port-dpdk.c datapath/port-tap.c \
	datapath/port-dummy.h datapath/port-dummy.c \
	datapath/dp.h datapath/dp-private.h datapath/dp-input.c \
	datapath/dp-exec.c datapath/dp-megaflow.c datapath/dp.c \
	datapath/bridge.h datapath/bridge.c \
	datapath/openflow.h datapath/openflow.c \
	datapath/ctl-handlers.h datapath/ctl-handlers.c \
	datapath/state.h datapath/state.c \
	datapath/drop.h \
	datapath/log.h datapath/log.c \
	datapath/dpdk-errno.h datapath/dpdk-errno.c

DATAPATH_LIBS = datapath/libdatapath.a flowtable/libflowtable.a \
	$(DPDK_LIBS) $(LIBNL_LIBS) $(JANSSON_LIBS) $(LIBEVENT_LIBS) -lpthread

sbin_PROGRAMS += datapath/sluiced
datapath_sluiced_SOURCES = datapath/main.c
datapath_sluiced_CFLAGS = $(datapath_libdatapath_a_CFLAGS)
datapath_sluiced_LDADD = $(DATAPATH_LIBS)
# SmartNIC offload (issue 4): the translation, the provider registry, the
# manager, the rte_flow provider, the simnic model and its provider, the
# control-socket glue.
datapath_libdatapath_a_SOURCES += \
	datapath/offload-xlate.h datapath/offload-xlate.c \
	datapath/offload-provider.h datapath/offload-provider.c \
	datapath/offload.h datapath/offload.c \
	datapath/offload-rte-flow.c \
	datapath/simnic.h datapath/simnic.c datapath/offload-simnic.c \
	datapath/ctl-offload.h datapath/ctl-offload.c
# Connection tracking (issue 13): the closed-connection log and the
# control-socket methods.
datapath_libdatapath_a_SOURCES += \
	datapath/ct-events.h datapath/ct-events.c \
	datapath/ctl-conntrack.h datapath/ctl-conntrack.c
# Operations (issue 16): the HTTP endpoint, its metrics and pages.
datapath_libdatapath_a_SOURCES += \
	datapath/http.h datapath/http.c \
	datapath/metrics.h datapath/metrics.c \
	datapath/dashboard.h datapath/dashboard.c \
	datapath/telemetry.h datapath/telemetry.c \
	datapath/capture.h datapath/capture.c \
	datapath/ctl-capture.h datapath/ctl-capture.c \
	datapath/mirror.h datapath/mirror.c \
	datapath/ctl-mirror.h datapath/ctl-mirror.c
# Overlay tunnels (issue 14): the underlay's routes and neighbours.
datapath_libdatapath_a_SOURCES += \
	datapath/tnl-route.h datapath/tnl-route.c \
	datapath/port-tunnel.h datapath/port-tunnel.c \
	datapath/tunnel.h datapath/tunnel.c \
	datapath/ctl-tunnel.h datapath/ctl-tunnel.c
# The dashboard page, compiled in (tools/embed-file.sh).
nodist_datapath_libdatapath_a_SOURCES = datapath/dashboard-html.c
BUILT_SOURCES = datapath/dashboard-html.c
CLEANFILES += datapath/dashboard-html.c
EXTRA_DIST += datapath/dashboard.html tools/embed-file.sh
datapath/dashboard-html.c: $(top_srcdir)/datapath/dashboard.html \
		$(top_srcdir)/tools/embed-file.sh
	@$(MKDIR_P) datapath
	$(AM_V_GEN)$(SHELL) $(top_srcdir)/tools/embed-file.sh dashboard_html \
		$(top_srcdir)/datapath/dashboard.html > $@.tmp && mv $@.tmp $@
