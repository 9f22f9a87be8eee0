/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h: the daemon's JSON configuration, loaded into plain C structs. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H 1

/*
 * What: cfg_load_file()/cfg_load_string() parse and validate sluiced's JSON
 * configuration (see docs/control-protocol.md section 4 and the example in
 * cfg_default_json()) into a struct cfg. Every error names the key path,
 * e.g. "bridges[0].ports[1].devarg: unknown key" or
 * "pmd.cores[0]: must be an integer 0..1023". cfg_port_from_kv() applies
 * the same port validation to a "KEY=VALUE" list (run-time add-port).
 *
 * Design: the whole document is validated before anything is returned;
 * unknown keys are errors; every optional key has a default (below). Port
 * options other than name/ofport/type are type-specific and kept as an
 * ordered list of (key, string) pairs for the port provider: JSON integers
 * become decimal strings, arrays are comma-joined. The port types and the
 * keys, types, ranges and defaults of each are those of the registered
 * port classes' option tables (port-options.h; `sluiced
 * --list-port-options`), checked by port_opt_check(): register the classes
 * (port_init_classes(), vhost_register_classes(), offload_init_classes())
 * before loading.  Names (bridges, ports) are 1..63 bytes of
 * [A-Za-z0-9_.:-]; bridge names
 * are unique, port names are unique across the whole file, ofports are
 * unique within a bridge.
 *
 * Defaults:
 *   dpdk.args                  ["--no-huge", "-m", "512"]
 *   dpdk.mbufs                 CFG_DEFAULT_MBUFS (1024..16777215)
 *   control.socket             CFG_DEFAULT_SOCKET
 *   control.group              "" (socket mode 0600; a group name makes it
 *                              0660 and owned by that group)
 *   state.dir                  CFG_DEFAULT_STATE_DIR (bridges, ports and
 *                              flows are saved there and restored at
 *                              start; "" disables it; see state.h)
 *   pmd.cores                  [0]
 *   pmd.emc_entries            8192 (0 disables the EMC; else a power of 2)
 *   pmd.hkc_entries            32768 slots in the header-key cache, the
 *                              exact-match cache of untagged IPv4 packets
 *                              (hkc.h; 0 disables it and such packets use
 *                              the EMC; else a power of 2 up to 2^22)
 *   pmd.idle_sleep_us          0 (busy polling); N (0..100000): the
 *                              longest nap of a PMD with little to do:
 *                              after each poll whose fullest burst was
 *                              under half a batch it naps 1 us longer,
 *                              up to N; a fuller burst ends the naps
 *                              (dp-input.c pmd_next_nap())
 *   datapath.megaflow_idle_ms  10000
 *   datapath.flow_limit        200000
 *   datapath.mac_aging_s       300
 *   datapath.max_masks         1024 megaflow masks per PMD (0 = no limit);
 *                              a new mask beyond it is not cached
 *   bridges                    []
 *   bridges[].flows            ["priority=0,actions=NORMAL"]; an explicit
 *                              [] gives a bridge without flows (drop all)
 *   bridges[].ports[].ofport   lowest number not used in the bridge
 *
 * Thread-safety: none needed: the functions have no shared state; a
 * struct cfg is plain data, read-only once loaded.
 *
 * Ownership: a struct cfg from cfg_load_*() is owned by the caller and
 * freed with cfg_free(), which frees every string and array in it. A
 * struct cfg_port filled by cfg_port_from_kv() is owned by the caller and
 * released with cfg_port_uninit() (the struct itself is not freed).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_DEFAULT_SOCKET "/run/sluice/sluiced.sock"
#define CFG_DEFAULT_STATE_DIR "/var/lib/sluice"
#define CFG_DEFAULT_MBUFS 32767
#define CFG_MAX_STATE_DIR 200
#define CFG_MAX_NAME 63         /* Bridge and port names, bytes. */
#define CFG_MAX_OFPORT 65279    /* 0xfeff, OFPP_MAX. */
#define CFG_MAX_CORE 1023

/* One type-specific port option. Both strings are owned by the port. */
struct cfg_opt {
    char *key;
    char *value;
};

/* Per-port offload (issue 4): "offload": {"mode": "none" | "partial" |
 * "full", "provider": "rte_flow" | "simnic", "nic": NAME}.  In the
 * KEY=VALUE form: offload=MODE, offload_provider=P, offload_nic=NAME. */
enum cfg_offload_mode {
    CFG_OFFLOAD_NONE,
    CFG_OFFLOAD_PARTIAL,
    CFG_OFFLOAD_FULL,
};
struct cfg_port_offload {
    int mode;                       /* enum cfg_offload_mode */
    char provider[16];              /* "" (default: rte_flow for dpdk
                                     * ports, else simnic), "rte_flow",
                                     * "simnic". */
    char nic[CFG_MAX_NAME + 1];     /* simnic NIC name; "" = own NIC. */
};

/* The top-level "offload" section: promotion and capacity policy.
 * Defaults: min_packets 64, min_pps 1000, check_ms 100, max_flows 65536,
 * queue_size 4096, idle_ms 0 (= datapath.megaflow_idle_ms), stats_ms 1000,
 * eviction "coldest" (or "none"), simnic_capacity 4096,
 * simnic_insert_rate 0 (rules per second; 0 = unlimited). */
struct cfg_offload {
    uint32_t min_packets;
    uint32_t min_pps;
    uint32_t check_ms;
    uint32_t max_flows;
    uint32_t queue_size;
    uint32_t idle_ms;
    uint32_t stats_ms;
    int evict;                      /* 1 = evict the coldest, 0 = keep */
    uint32_t simnic_capacity;
    uint32_t simnic_insert_rate;
    /* "sessions": conntrack session offload (offload.h "Sessions"). */
    int sessions;                   /* "enabled" (default 0: off) */
    uint32_t session_min_packets;   /* default 16 */
    uint32_t session_idle_ms;       /* 0: the connection's timeout */
};

/* The "conntrack" section: the global connection limit (default
 * 3,000,000, like Open vSwitch's), per-zone limits ("zone_limits":
 * {"5": 1000}; 0 = none) and timeouts by name, in seconds ("timeouts":
 * {"tcp_established": 3600}: the names conntrack.h's
 * ct_timeouts_set_by_name() knows; the rest keep their defaults). */
struct cfg_ct_zone_limit {
    uint16_t zone;
    uint32_t limit;
};
struct cfg_ct_timeout {
    char *name;
    uint32_t seconds;
};
struct cfg_conntrack {
    uint32_t max_conns;
    struct cfg_ct_zone_limit *zone_limits;
    size_t n_zone_limits;
    struct cfg_ct_timeout *timeouts;
    size_t n_timeouts;
};

struct cfg_port {
    char *name;
    char *type;                 /* "dpdk", "tap", "dummy", "vhostuser",
                                 * "vhostuserclient". */
    uint32_t ofport;            /* 1..CFG_MAX_OFPORT; 0 = not given (only
                                 * from cfg_port_from_kv()). */
    struct cfg_opt *options;    /* In file order; n_options may be 0. */
    size_t n_options;
    struct cfg_port_offload offload;    /* Plain data (no pointers). */
};

/* A port mirror (Open vSwitch's Mirror table): copies of the packets
 * that the selected ports receive (select_src_port) and send
 * (select_dst_port), or of every port (select_all), optionally only those
 * tagged with one of 'select_vlan', go out of 'output_port', which then
 * carries nothing else.  Ports are named, and may come and go. */
#define CFG_MAX_MIRRORS 32      /* Per switch (all bridges). */
struct cfg_mirror {
    char *name;
    char *output_port;
    bool select_all;
    char **select_src;
    size_t n_select_src;
    char **select_dst;
    size_t n_select_dst;
    uint16_t *select_vlan;      /* VLAN ids 0..4095, sorted, distinct. */
    size_t n_select_vlan;
};

/* An OpenFlow connection target: "ptcp:PORT[:IP]" / "punix:PATH" (listen)
 * or "tcp:IP[:PORT]" / "unix:PATH" (a controller to connect to; PORT
 * defaults to 6653). */
struct cfg_of_target {
    bool passive;
    bool is_unix;
    char path[108];             /* unix */
    char ip[46];                /* tcp: numeric IPv4 or IPv6 */
    uint16_t port;
};
/* Parses 'text' as above into 't'; NULL or why it is wrong. */
const char *cfg_of_target_parse(const char *text, struct cfg_of_target *t);

/* bridges[].openflow: the bridge as an OpenFlow 1.3 switch (openflow.h). */
#define CFG_MAX_OF_TARGETS 8
struct cfg_openflow {
    char **listen;              /* "ptcp:..." / "punix:..." */
    size_t n_listen;
    char **controllers;         /* "tcp:..." / "unix:..." */
    size_t n_controllers;
    uint64_t datapath_id;       /* 0: derived from the bridge name. */
    bool fail_standalone;       /* fail_mode "standalone" (else "secure") */
    uint32_t inactivity_probe_ms;   /* 0 = none; default 5000 */
    uint32_t max_backoff_ms;    /* Reconnect backoff cap; default 8000 */
};

/* The same settings as a JSON object (the config's syntax): parse (NULL:
 * the defaults; on error nothing to free), copy, free, write back (what
 * cfg_openflow_from_json() reads; NULL when out of memory). */
struct json_t;
int cfg_openflow_from_json(const struct json_t *j, struct cfg_openflow *of,
                           char *err, size_t errsize);
int cfg_openflow_copy(struct cfg_openflow *dst,
                      const struct cfg_openflow *src);
void cfg_openflow_uninit(struct cfg_openflow *of);
struct json_t *cfg_openflow_to_json(const struct cfg_openflow *of);

struct cfg_bridge {
    char *name;
    struct cfg_port *ports;
    size_t n_ports;
    char **flows;               /* Flow texts, ovs-ofctl add-flow syntax. */
    size_t n_flows;
    char **groups;              /* Group texts, ovs-ofctl add-group syntax
                                 * (checked, of_group_parse()). */
    size_t n_groups;
    char **meters;              /* Meter texts, ovs-ofctl add-meter syntax
                                 * (checked, of_meter_parse()). */
    size_t n_meters;
    struct cfg_mirror *mirrors;
    size_t n_mirrors;
    /* GENEVE TLV mappings, ovs-ofctl add-tlv-map syntax
     * ("{class=0xffff,type=0,len=4}->tun_metadata0"), checked
     * (tnl_tlv_from_string(), no two for one slot or option). */
    char **tlv_map;
    size_t n_tlv_map;
    struct cfg_openflow openflow;
};

struct cfg {
    char **dpdk_args;           /* EAL arguments, without argv[0]. */
    size_t n_dpdk_args;
    uint32_t n_mbufs;           /* Packet buffers in the pool. */
    char *control_socket;
    char *control_group;        /* "" = socket mode 0600 (root only);
                                 * else mode 0660 owned by this group. */
    char *state_dir;            /* "" = do not save or restore state. */
    char *http_listen;          /* "HOST:PORT", "" = no HTTP endpoint. */
    unsigned int *pmd_cores;    /* Distinct, in file order; at least one. */
    size_t n_pmd_cores;
    uint32_t emc_entries;
    uint32_t hkc_entries;
    uint32_t pmd_idle_sleep_us; /* 0..100000; 0 = always busy-poll. */
    uint32_t megaflow_idle_ms;  /* 1..3600000 */
    uint32_t flow_limit;        /* 1..10000000 */
    uint32_t mac_aging_s;       /* 1..86400 */
    uint32_t max_masks;         /* 0..65536, 0 = no limit */
    struct cfg_bridge *bridges;
    size_t n_bridges;
    uint64_t bridges_checksum;  /* Of the "bridges" JSON as loaded: tells
                                 * whether the configured bridges changed
                                 * since a state file was saved. */
    struct cfg_offload offload;
    struct cfg_conntrack conntrack;
};

/* Loads 'path'. Returns 0 and sets '*out' (caller frees with cfg_free()),
 * or an errno (ENOENT, EACCES... for the file, EINVAL for bad content,
 * ENOMEM) with '*out' set to NULL and 'err' filled, prefixed by 'path'. */
int cfg_load_file(const char *path, struct cfg **out, char *err,
                  size_t errsize);

/* As cfg_load_file() for a NUL-terminated JSON text. */
int cfg_load_string(const char *json, struct cfg **out, char *err,
                    size_t errsize);

/* Frees 'cfg' and everything it owns. Accepts NULL. */
void cfg_free(struct cfg *cfg);

/* The embedded configuration sluiced uses without --config: --no-huge, one
 * PMD core, bridge br0 with dummy ports. A static string: do not free. */
const char *cfg_default_json(void);

/* Builds '*out' from a port name, type and 'n_kv' strings "KEY=VALUE"
 * (the add-port command), with the same validation as the config file.
 * "ofport=N" sets out->ofport (else 0). Returns 0, or EINVAL (message in
 * 'err', e.g. "devarg: unknown key for type dpdk") / ENOMEM with '*out'
 * left empty. Release with cfg_port_uninit(). */
int cfg_port_from_kv(const char *name, const char *type,
                     const char *const *kv, size_t n_kv,
                     struct cfg_port *out, char *err, size_t errsize);

/* Frees what 'port' owns and zeroes it. Accepts NULL. */
void cfg_port_uninit(struct cfg_port *port);

/* Returns the value of option 'key' of 'port', or NULL if absent. The
 * string is owned by 'port'. */
const char *cfg_port_get(const struct cfg_port *port, const char *key);

/* The inverse of loading: 'port' as a config-file "ports" element (each
 * option in its JSON type, offload as an object); a new reference, or NULL
 * on ENOMEM.  Loading the result gives back the same port. */
struct json_t;
struct json_t *cfg_port_to_json(const struct cfg_port *port);

/* FNV-1a 64-bit hash of a NUL-terminated text. */
uint64_t cfg_checksum(const char *text);

/* Parses a mirror object ({"name", "output_port", "select_all",
 * "select_src_port", "select_dst_port", "select_vlan"}) into '*m'
 * (fully overwritten; cfg_mirror_uninit() it).  Keys of 'j' listed in
 * 'ignore' (NULL-terminated, or NULL) are skipped, any other unknown key
 * is an error.  Checks the syntax and that something is selected and the
 * output port is not itself selected, not that the ports exist.  'path'
 * prefixes error messages.  Returns 0, EINVAL or ENOMEM. */
int cfg_mirror_from_json(const struct json_t *j, const char *path,
                         const char *const *ignore, struct cfg_mirror *m,
                         char *err, size_t errsize);
struct json_t *cfg_mirror_to_json(const struct cfg_mirror *m);
/* Deep copy; returns 0 or ENOMEM ('dst' then needs no uninit). */
int cfg_mirror_copy(struct cfg_mirror *dst, const struct cfg_mirror *src);
void cfg_mirror_uninit(struct cfg_mirror *m);
/* True if 'm' lists port 'name' in select_src_port or select_dst_port
 * (select_all aside: it never selects a mirror's output port). */
bool cfg_mirror_names(const struct cfg_mirror *m, const char *name);


/* Returns the bridge named 'name' in 'cfg', or NULL. */
const struct cfg_bridge *cfg_find_bridge(const struct cfg *cfg,
                                         const char *name);

#endif /* SLUICE_CONFIG_H */
