# vhost: the vhost-user port provider over rte_vhost (part of libdatapath).
datapath_libdatapath_a_SOURCES += vhost/vhost.h vhost/port-vhost.c
