# ofctl: sluice-ofctl, the user's ctl utility (control-socket client).
bin_PROGRAMS += ofctl/sluice-ofctl
ofctl_sluice_ofctl_SOURCES = ofctl/sluice-ofctl.c
ofctl_sluice_ofctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
ofctl_sluice_ofctl_LDADD = flowtable/libflowtable.a $(JANSSON_LIBS)
