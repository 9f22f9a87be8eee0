/* SPDX-License-Identifier: BSD-3-Clause */
/* test-config.c: unit tests for datapath/config.[ch]. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "offload-provider.h"
#include "port.h"
#include "port-provider.h"
#include "port-options.h"
#include "vhost.h"

/* Fixture directory: automake's test driver exports $srcdir. */
static const char *
data_path(const char *name, char *buf, size_t size)
{
    const char *srcdir = getenv("srcdir");

    snprintf(buf, size, "%s/tests/data/%s", srcdir ? srcdir : ".", name);
    return buf;
}

static void
check_full(const struct cfg *cfg)
{
    const struct cfg_bridge *br;
    const struct cfg_port *p;

    assert_int_equal(cfg->n_dpdk_args, 5);
    assert_string_equal(cfg->dpdk_args[0], "--no-huge");
    assert_string_equal(cfg->dpdk_args[4], "sl0");
    assert_string_equal(cfg->control_socket, "/run/sluice/sluiced.sock");
    assert_int_equal(cfg->n_pmd_cores, 1);
    assert_int_equal(cfg->pmd_cores[0], 0);
    assert_int_equal(cfg->emc_entries, 8192);
    assert_int_equal(cfg->hkc_entries, 32768);
    assert_int_equal(cfg->megaflow_idle_ms, 10000);
    assert_int_equal(cfg->flow_limit, 200000);
    assert_int_equal(cfg->mac_aging_s, 300);
    assert_int_equal(cfg->n_bridges, 1);

    br = cfg_find_bridge(cfg, "br0");
    assert_non_null(br);
    assert_null(cfg_find_bridge(cfg, "br1"));
    assert_int_equal(br->n_ports, 5);
    assert_int_equal(br->n_flows, 1);
    assert_string_equal(br->flows[0],
                        "priority=10,in_port=1,actions=output:2");

    p = &br->ports[0];
    assert_string_equal(p->name, "p1");
    assert_string_equal(p->type, "dpdk");
    assert_int_equal(p->ofport, 1);
    assert_int_equal(p->n_options, 1);
    assert_string_equal(cfg_port_get(p, "devargs"),
                        "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");

    p = &br->ports[1];
    assert_int_equal(p->n_options, 2);
    assert_string_equal(p->options[0].key, "devargs");
    assert_string_equal(p->options[1].key, "rxq");
    assert_string_equal(p->options[1].value, "1");

    p = &br->ports[2];
    assert_string_equal(p->type, "tap");
    assert_int_equal(p->n_options, 3);
    /* File order is kept. */
    assert_string_equal(p->options[0].key, "ifname");
    assert_string_equal(p->options[1].key, "mtu");
    assert_string_equal(p->options[2].key, "addresses");
    assert_string_equal(cfg_port_get(p, "mtu"), "1500");
    assert_string_equal(cfg_port_get(p, "addresses"), "10.9.0.1/24");
    assert_null(cfg_port_get(p, "devargs"));

    p = &br->ports[3];
    assert_string_equal(p->type, "dummy");
    assert_int_equal(p->n_options, 0);

    p = &br->ports[4];
    assert_string_equal(p->type, "vhostuserclient");
    assert_int_equal(p->ofport, 5);
    assert_string_equal(cfg_port_get(p, "path"), "/run/sluice/vm1.sock");
    assert_string_equal(cfg_port_get(p, "queues"), "2");
}

static void
test_full_file(void **state)
{
    char path[512], err[512];
    struct cfg *cfg;

    (void) state;
    assert_int_equal(cfg_load_file(data_path("config-full.json", path,
                                             sizeof path),
                                   &cfg, err, sizeof err), 0);
    check_full(cfg);
    cfg_free(cfg);
}

static void
test_file_errors(void **state)
{
    char path[512], err[512];
    struct cfg *cfg = (struct cfg *) 1;

    (void) state;
    data_path("config-bad-key.json", path, sizeof path);
    assert_int_equal(cfg_load_file(path, &cfg, err, sizeof err), EINVAL);
    assert_null(cfg);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "bridges[0].ports[1].devarg: unknown key"));

    data_path("config-bad-syntax.json", path, sizeof path);
    assert_int_equal(cfg_load_file(path, &cfg, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "line 2"));

    assert_int_equal(cfg_load_file("/nonexistent/sluice.json", &cfg, err,
                                   sizeof err), ENOENT);
    assert_non_null(strstr(err, "/nonexistent/sluice.json"));
    assert_null(cfg);
}

static void
test_defaults(void **state)
{
    char err[512];
    struct cfg *cfg;

    (void) state;
    assert_int_equal(cfg_load_string("{}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->n_dpdk_args, 3);
    assert_string_equal(cfg->dpdk_args[0], "--no-huge");
    assert_string_equal(cfg->control_socket, CFG_DEFAULT_SOCKET);
    assert_int_equal(cfg->n_pmd_cores, 1);
    assert_int_equal(cfg->pmd_cores[0], 0);
    assert_int_equal(cfg->emc_entries, 8192);
    assert_int_equal(cfg->megaflow_idle_ms, 10000);
    assert_int_equal(cfg->flow_limit, 200000);
    assert_int_equal(cfg->mac_aging_s, 300);
    assert_int_equal(cfg->n_bridges, 0);
    cfg_free(cfg);

    /* Bridge defaults: the NORMAL flow; explicit [] means no flows. */
    assert_int_equal(cfg_load_string(
        "{\"bridges\":[{\"name\":\"a\"},{\"name\":\"b\",\"flows\":[]}],"
        "\"dpdk\":{\"args\":[]},\"pmd\":{\"cores\":[3,1],"
        "\"emc_entries\":0,\"hkc_entries\":0}}", &cfg, err, sizeof err),
        0);
    assert_int_equal(cfg->n_dpdk_args, 0);
    assert_int_equal(cfg->n_pmd_cores, 2);
    assert_int_equal(cfg->pmd_cores[0], 3);
    assert_int_equal(cfg->pmd_cores[1], 1);
    assert_int_equal(cfg->emc_entries, 0);
    assert_int_equal(cfg->hkc_entries, 0);
    assert_int_equal(cfg->bridges[0].n_ports, 0);
    assert_int_equal(cfg->bridges[0].n_flows, 1);
    assert_string_equal(cfg->bridges[0].flows[0],
                        "priority=0,actions=NORMAL");
    assert_int_equal(cfg->bridges[1].n_flows, 0);
    cfg_free(cfg);

    cfg_free(NULL);
}

static void
test_default_json(void **state)
{
    const struct cfg_bridge *br;
    char err[512];
    struct cfg *cfg;

    (void) state;
    assert_int_equal(cfg_load_string(cfg_default_json(), &cfg, err,
                                     sizeof err), 0);
    br = cfg_find_bridge(cfg, "br0");
    assert_non_null(br);
    assert_true(br->n_ports >= 2);
    for (size_t i = 0; i < br->n_ports; i++) {
        assert_string_equal(br->ports[i].type, "dummy");
    }
    assert_true(cfg->n_pmd_cores == 1);
    bool no_huge = false;
    for (size_t i = 0; i < cfg->n_dpdk_args; i++) {
        no_huge |= !strcmp(cfg->dpdk_args[i], "--no-huge");
    }
    assert_true(no_huge);
    cfg_free(cfg);
}

/* Reference for ofport assignment: the lowest number not yet used. */
static uint32_t
ref_lowest_free(const uint32_t *used, size_t n)
{
    for (uint32_t cand = 1; ; cand++) {
        size_t i;

        for (i = 0; i < n && used[i] != cand; i++) {
            continue;
        }
        if (i == n) {
            return cand;
        }
    }
}

static void
test_ofport_assignment(void **state)
{
    (void) state;
    srand(7);
    for (int iter = 0; iter < 200; iter++) {
        size_t n = 1 + (size_t) (rand() % 8);
        uint32_t given[8], expect[8];
        char json[2048], err[512];
        size_t len = 0;
        struct cfg *cfg;

        len += (size_t) snprintf(json + len, sizeof json - len,
                                 "{\"bridges\":[{\"name\":\"br\","
                                 "\"ports\":[");
        for (size_t i = 0; i < n; i++) {
            /* About half the ports get a distinct explicit ofport. */
            given[i] = 0;
            if (rand() % 2) {
                uint32_t cand = 1 + (uint32_t) (rand() % 10);
                bool dup = false;

                for (size_t k = 0; k < i; k++) {
                    dup |= given[k] == cand;
                }
                given[i] = dup ? 0 : cand;
            }
            len += (size_t) snprintf(json + len, sizeof json - len,
                                     "%s{\"name\":\"p%zu\",\"type\":"
                                     "\"dummy\"", i ? "," : "", i);
            if (given[i]) {
                len += (size_t) snprintf(json + len, sizeof json - len,
                                         ",\"ofport\":%u", given[i]);
            }
            len += (size_t) snprintf(json + len, sizeof json - len, "}");
        }
        snprintf(json + len, sizeof json - len, "]}]}");

        /* Reference: explicit ones first, then lowest free in order. */
        size_t n_used = 0;
        uint32_t used[16];
        for (size_t i = 0; i < n; i++) {
            if (given[i]) {
                used[n_used++] = given[i];
            }
        }
        for (size_t i = 0; i < n; i++) {
            expect[i] = given[i];
            if (!given[i]) {
                expect[i] = ref_lowest_free(used, n_used);
                used[n_used++] = expect[i];
            }
        }

        assert_int_equal(cfg_load_string(json, &cfg, err, sizeof err), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(cfg->bridges[0].ports[i].ofport, expect[i]);
        }
        cfg_free(cfg);
    }
}

struct bad_case {
    const char *json;
    const char *msg;        /* Expected substring of the error. */
};

#define PORT_PRE "{\"bridges\":[{\"name\":\"br0\",\"ports\":["
#define PORT_POST "]}]}"

static const struct bad_case bad_cases[] = {
    { "{\"dpdk\":{\"mbufs\":5}}", "dpdk.mbufs: must be an integer 1024.." },
    { "{\"state\":{\"dir\":7}}", "state.dir: must be a directory path" },
    { "{\"state\":{\"dirx\":\"/x\"}}", "state.dirx: unknown key" },
    { "[]", "(root): must be an object" },
    /* Offload (issue 4). */
    { "{\"offload\":{\"min_pkts\":1}}", "offload.min_pkts: unknown key" },
    { "{\"offload\":{\"max_flows\":0}}",
      "offload.max_flows: must be an integer 1..10000000" },
    { "{\"offload\":{\"eviction\":\"lru\"}}",
      "offload.eviction: must be \"coldest\" or \"none\"" },
    { "{\"offload\":[]}", "offload: must be an object" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"mode\":\"half\"}}" PORT_POST,
      "bridges[0].ports[0].offload.mode: must be \"none\", \"partial\" "
      "or \"full\"" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"provider\":\"rte_flow\"}}" PORT_POST,
      "bridges[0].ports[0].offload.provider: rte_flow needs a dpdk port" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"provider\":\"mlx5\"}}" PORT_POST,
      "bridges[0].ports[0].offload.provider: must be one of \"rte_flow\", "
      "\"simnic\"" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"nic\":\"a b\"}}" PORT_POST,
      "bridges[0].ports[0].offload.nic: must be a name" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"nick\":\"x\"}}" PORT_POST,
      "bridges[0].ports[0].offload.nick: unknown key" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "{\"mode\":1}}" PORT_POST,
      "bridges[0].ports[0].offload.mode: must be a string" },
    { PORT_PRE "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":"
      "\"full\"}" PORT_POST,
      "bridges[0].ports[0].offload: must be an object" },
    { "{\"dpdkk\":{}}", "dpdkk: unknown key" },
    { "{\"dpdk\":[]}", "dpdk: must be an object" },
    { "{\"dpdk\":{\"arg\":[]}}", "dpdk.arg: unknown key" },
    { "{\"dpdk\":{\"args\":\"-m\"}}", "dpdk.args: must be an array" },
    { "{\"dpdk\":{\"args\":[\"-m\",512]}}", "dpdk.args[1]: must be a string" },
    { "{\"control\":{\"socket\":5}}", "control.socket: must be a string" },
    { "{\"control\":{\"socket\":\"\"}}", "control.socket: must be a Unix" },
    { "{\"control\":{\"path\":\"/x\"}}", "control.path: unknown key" },
    { "{\"pmd\":{\"cores\":[]}}", "pmd.cores: must be a non-empty array" },
    { "{\"pmd\":{\"cores\":[\"0\"]}}",
      "pmd.cores[0]: must be an integer 0..1023" },
    { "{\"pmd\":{\"cores\":[1,1024]}}",
      "pmd.cores[1]: must be an integer 0..1023" },
    { "{\"pmd\":{\"cores\":[-1]}}", "pmd.cores[0]: must be an integer" },
    { "{\"pmd\":{\"cores\":[2,2]}}", "pmd.cores[1]: duplicate core 2" },
    { "{\"pmd\":{\"emc_entries\":1000}}",
      "pmd.emc_entries: must be 0 or a power of 2" },
    { "{\"pmd\":{\"emc_entries\":true}}", "pmd.emc_entries: must be an int" },
    { "{\"pmd\":{\"hkc_entries\":3}}",
      "pmd.hkc_entries: must be 0 or a power of 2" },
    { "{\"pmd\":{\"hkc_entries\":8388608}}", "pmd.hkc_entries" },
    { "{\"pmd\":{\"threads\":2}}", "pmd.threads: unknown key" },
    { "{\"datapath\":{\"flow_limit\":0}}",
      "datapath.flow_limit: must be an integer 1..10000000" },
    { "{\"datapath\":{\"megaflow_idle_ms\":1.5}}",
      "datapath.megaflow_idle_ms: must be an integer" },
    { "{\"datapath\":{\"mac_aging_s\":86401}}",
      "datapath.mac_aging_s: must be an integer 1..86400" },
    { "{\"datapath\":{\"x\":1}}", "datapath.x: unknown key" },
    { "{\"bridges\":{}}", "bridges: must be an array" },
    { "{\"bridges\":[5]}", "bridges[0]: must be an object" },
    { "{\"bridges\":[{}]}", "bridges[0].name: missing" },
    { "{\"bridges\":[{\"name\":\"\"}]}", "bridges[0].name: must be a string" },
    { "{\"bridges\":[{\"name\":\"b r\"}]}", "bridges[0].name: must be" },
    { "{\"bridges\":[{\"name\":\"br0\",\"port\":[]}]}",
      "bridges[0].port: unknown key" },
    { "{\"bridges\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
      "bridges[1].name: duplicate bridge name \"a\"" },
    { "{\"bridges\":[{\"name\":\"a\",\"ports\":{}}]}",
      "bridges[0].ports: must be an array" },
    { "{\"bridges\":[{\"name\":\"a\",\"flows\":\"x\"}]}",
      "bridges[0].flows: must be an array" },
    { "{\"bridges\":[{\"name\":\"a\",\"flows\":[\"x\",\"\"]}]}",
      "bridges[0].flows[1]: must be a non-empty string" },
    { PORT_PRE "7" PORT_POST, "bridges[0].ports[0]: must be an object" },
    { PORT_PRE "{\"type\":\"dummy\"}" PORT_POST,
      "bridges[0].ports[0].name: missing" },
    { PORT_PRE "{\"name\":\"p\"}" PORT_POST,
      "bridges[0].ports[0].type: missing" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdkk\"}" PORT_POST,
      "bridges[0].ports[0].type: must be one of" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"ofport\":0}" PORT_POST,
      "bridges[0].ports[0].ofport: must be an integer 1..65279" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"ofport\":65280}"
      PORT_POST, "bridges[0].ports[0].ofport: must be an integer" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"ofport\":\"1\"}"
      PORT_POST, "bridges[0].ports[0].ofport: must be an integer" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"mtux\":1500}" PORT_POST,
      "bridges[0].ports[0].mtux: unknown key (type dummy takes rxq, mtu, "
      "ring_size)" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"rxq\":0}" PORT_POST,
      "bridges[0].ports[0].rxq: " },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\"}" PORT_POST,
      "bridges[0].ports[0].devargs: missing (required for type dpdk)" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":\"\"}"
      PORT_POST, "bridges[0].ports[0].devargs: must be a non-empty" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":[7]}" PORT_POST,
      "bridges[0].ports[0].devargs: must be a string" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":\"x\","
      "\"rxq\":0}" PORT_POST,
      "bridges[0].ports[0].rxq: must be an integer 1..64" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":\"x\","
      "\"txq\":65}" PORT_POST,
      "bridges[0].ports[0].txq: must be an integer 1..64" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":\"x\","
      "\"mtu\":67}" PORT_POST,
      "bridges[0].ports[0].mtu: must be an integer 68..9710" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dpdk\",\"devargs\":\"x\","
      "\"ifname\":\"t\"}" PORT_POST,
      "bridges[0].ports[0].ifname: unknown key (type dpdk takes devargs, "
      "rxq, txq, mtu)" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"ifname\":"
      "\"0123456789abcdef\"}" PORT_POST,
      "bridges[0].ports[0].ifname: must be a Linux interface name" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":"
      "[\"10.0.0.1/24\",\"10.0.0.300/24\"]}" PORT_POST,
      "bridges[0].ports[0].addresses[1]: \"10.0.0.300/24\" is not" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":"
      "[\"10.0.0.1\"]}" PORT_POST,
      "bridges[0].ports[0].addresses[0]: \"10.0.0.1\" is not ADDR/PREFIX" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":"
      "[\"10.0.0.1/33\"]}" PORT_POST, "addresses[0]: \"10.0.0.1/33\"" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":"
      "[\"fd00::1/129\"]}" PORT_POST, "addresses[0]: \"fd00::1/129\"" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":[5]}"
      PORT_POST, "bridges[0].ports[0].addresses[0]: must be a string" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"tap\",\"addresses\":5}"
      PORT_POST, "bridges[0].ports[0].addresses: must be an array" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"vhostuser\"}" PORT_POST,
      "bridges[0].ports[0].path: missing (required for type vhostuser)" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"vhostuserclient\",\"path\":\"/s\","
      "\"queues\":0}" PORT_POST,
      "bridges[0].ports[0].queues: must be an integer 1..64" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\"},"
      "{\"name\":\"p\",\"type\":\"dummy\"}" PORT_POST,
      "bridges[0].ports[1].name: duplicate port name \"p\" "
      "(also bridges[0].ports[0])" },
    { "{\"bridges\":[{\"name\":\"a\",\"ports\":[{\"name\":\"x\",\"type\":"
      "\"dummy\"}]},{\"name\":\"b\",\"ports\":[{\"name\":\"y\",\"type\":"
      "\"dummy\"},{\"name\":\"x\",\"type\":\"dummy\"}]}]}",
      "bridges[1].ports[1].name: duplicate port name \"x\" "
      "(also bridges[0].ports[0])" },
    { PORT_PRE "{\"name\":\"p\",\"type\":\"dummy\",\"ofport\":3},"
      "{\"name\":\"q\",\"type\":\"dummy\",\"ofport\":3}" PORT_POST,
      "bridges[0].ports[1].ofport: ofport 3 already used by port \"p\"" },
    /* OpenFlow (issue 15). */
#define OF_PRE "{\"bridges\":[{\"name\":\"br0\",\"openflow\":"
#define OF_POST "}]}"
    { OF_PRE "{\"listen\":[\"tcp:127.0.0.1:6653\"]}" OF_POST,
      "bridges[0].openflow.listen[0]: \"tcp:127.0.0.1:6653\": listen takes "
      "ptcp: or punix:" },
    { OF_PRE "{\"controllers\":[\"ptcp:6653\"]}" OF_POST,
      "controllers take tcp: or unix:" },
    { OF_PRE "{\"controllers\":[\"tcp:localhost\"]}" OF_POST,
      "must be a numeric IPv4 or IPv6 address" },
    { OF_PRE "{\"controllers\":[\"tcp:10.0.0.1:0\"]}" OF_POST,
      "bad port (1..65535)" },
    { OF_PRE "{\"listen\":[\"ptcp:70000\"]}" OF_POST,
      "bad port (0..65535)" },
    { OF_PRE "{\"listen\":[\"punix:\"]}" OF_POST,
      "a unix socket path of 1..107 bytes" },
    { OF_PRE "{\"listen\":[\"ptcp:1\",\"ptcp:1\"]}" OF_POST,
      "\"ptcp:1\" given twice" },
    { OF_PRE "{\"datapath_id\":\"12\"}" OF_POST,
      "openflow.datapath_id: must be 16 hex digits" },
    { OF_PRE "{\"fail_mode\":\"open\"}" OF_POST,
      "openflow.fail_mode: must be \"secure\" or \"standalone\"" },
    { OF_PRE "{\"protocols\":[\"OpenFlow10\"]}" OF_POST,
      "only \"OpenFlow13\" is supported" },
    { OF_PRE "{\"inactivity_probe_ms\":5}" OF_POST,
      "must be 0 (none) or 100..3600000" },
    { OF_PRE "{\"listn\":[]}" OF_POST, "openflow.listn: unknown key" },
    { OF_PRE "[]" OF_POST, "bridges[0].openflow: must be an object" },
    { "{\"bridges\":[{\"name\":\"br0\",\"groups\":[\"group_id=1\"]}]}",
      "bridges[0].groups[0]: type is required" },
    { "{\"bridges\":[{\"name\":\"br0\",\"groups\":{}}]}",
      "bridges[0].groups: must be an array of strings" },
    { "{\"bridges\":[{\"name\":\"br0\",\"meters\":[5]}]}",
      "bridges[0].meters[0]: must be a string" },
    { "{\"bridges\":[{\"name\":\"br0\",\"meters\":[\"meter=1,bands="
      "type=drop\"]}]}", "bridges[0].meters[0]: band 0: rate must be > 0" },
    { "{\"pmd\":{},\"pmd\":{}}", "duplicate object key" },
    { "{\"pmd\":", "line 1" },
    { "", "line" },
};

static void
test_openflow(void **state)
{
    struct cfg *cfg;
    char err[512];
    const struct cfg_openflow *of;
    struct cfg_of_target t;

    (void) state;
    assert_int_equal(cfg_load_string(
        "{\"bridges\":[{\"name\":\"br0\",\"openflow\":{"
        "\"listen\":[\"ptcp:6653:127.0.0.1\",\"punix:/run/s/br0.mgmt\"],"
        "\"controllers\":[\"tcp:[::1]:6633\",\"unix:/run/c.sock\"],"
        "\"datapath_id\":\"00000000000000a1\",\"fail_mode\":\"standalone\","
        "\"protocols\":[\"OpenFlow13\"],\"inactivity_probe_ms\":0}},"
        "{\"name\":\"br1\"}]}", &cfg, err, sizeof err), 0);
    of = &cfg->bridges[0].openflow;
    assert_int_equal(of->n_listen, 2);
    assert_int_equal(of->n_controllers, 2);
    assert_true(of->datapath_id == 0xa1);
    assert_true(of->fail_standalone);
    assert_int_equal(of->inactivity_probe_ms, 0);
    assert_int_equal(of->max_backoff_ms, 8000);
    of = &cfg->bridges[1].openflow;
    assert_int_equal(of->n_listen + of->n_controllers, 0);
    assert_int_equal(of->inactivity_probe_ms, 5000);
    cfg_free(cfg);

    assert_null(cfg_of_target_parse("ptcp:6653:127.0.0.1", &t));
    assert_true(t.passive && !t.is_unix && t.port == 6653);
    assert_string_equal(t.ip, "127.0.0.1");
    assert_null(cfg_of_target_parse("ptcp:", &t));
    assert_true(t.port == 6653 && !strcmp(t.ip, "0.0.0.0"));
    assert_null(cfg_of_target_parse("tcp:[fe80::1]:99", &t));
    assert_true(!t.passive && t.port == 99 && !strcmp(t.ip, "fe80::1"));
    assert_null(cfg_of_target_parse("tcp:::1", &t));
    assert_true(t.port == 6653 && !strcmp(t.ip, "::1"));
    assert_null(cfg_of_target_parse("unix:/x", &t));
    assert_true(t.is_unix && !t.passive && !strcmp(t.path, "/x"));
    assert_non_null(cfg_of_target_parse("ssl:1.2.3.4", &t));
    assert_non_null(cfg_of_target_parse("tcp:[::1", &t));
}

static void
test_errors(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct cfg *cfg = (struct cfg *) 1;
        char err[512] = "";
        int rc;

        rc = cfg_load_string(bc->json, &cfg, err, sizeof err);
        if (rc != EINVAL || !strstr(err, bc->msg)) {
            fail_msg("case %zu: %s\n  rc=%d err=\"%s\"\n  expected \"%s\"",
                     i, bc->json, rc, err, bc->msg);
        }
        assert_null(cfg);
    }
}

/* Same port text in both forms: the config file and the kv list. */
static void
test_same_port_same_verdict(void **state)
{
    static const struct {
        const char *type;
        const char *kv;             /* One KEY=VALUE. */
        const char *json;           /* The same as a JSON member. */
        bool ok;
    } cases[] = {
        { "dpdk", "rxq=4", "\"rxq\":4", true },
        { "dpdk", "rxq=0", "\"rxq\":0", false },
        { "dpdk", "mtu=9710", "\"mtu\":9710", true },
        { "dpdk", "mtu=9711", "\"mtu\":9711", false },
        { "dpdk", "queues=2", "\"queues\":2", false },
        { "tap", "ifname=sl-x", "\"ifname\":\"sl-x\"", true },
        { "tap", "ifname=a/b", "\"ifname\":\"a/b\"", false },
        { "tap", "addresses=10.0.0.1/8,fd00::1/64",
          "\"addresses\":[\"10.0.0.1/8\",\"fd00::1/64\"]", true },
        { "tap", "addresses=10.0.0.1/8,nope/1",
          "\"addresses\":[\"10.0.0.1/8\",\"nope/1\"]", false },
        { "vhostuser", "queues=64", "\"queues\":64", true },
        { "vhostuser", "queues=65", "\"queues\":65", false },
        { "dummy", "rxq=1", "\"rxq\":1", true },
        { "dummy", "rxq=65", "\"rxq\":65", false },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *extra_kv = NULL, *extra_json = "";
        const char *kv[2];
        struct cfg_port port;
        char json[512], err[512];
        struct cfg *cfg;
        int rc_kv, rc_json;

        if (!strcmp(cases[i].type, "dpdk")) {
            extra_kv = "devargs=net_null0";
            extra_json = ",\"devargs\":\"net_null0\"";
        } else if (!strncmp(cases[i].type, "vhost", 5)) {
            extra_kv = "path=/tmp/v.sock";
            extra_json = ",\"path\":\"/tmp/v.sock\"";
        }
        kv[0] = cases[i].kv;
        kv[1] = extra_kv;
        rc_kv = cfg_port_from_kv("p", cases[i].type, kv, extra_kv ? 2 : 1,
                                 &port, err, sizeof err);
        cfg_port_uninit(&port);
        snprintf(json, sizeof json, PORT_PRE "{\"name\":\"p\",\"type\":"
                 "\"%s\",%s%s}" PORT_POST, cases[i].type, cases[i].json,
                 extra_json);
        rc_json = cfg_load_string(json, &cfg, err, sizeof err);
        cfg_free(cfg);
        if ((rc_kv == 0) != cases[i].ok || (rc_json == 0) != cases[i].ok) {
            fail_msg("case %zu (%s): kv rc %d, json rc %d, expected %s", i,
                     cases[i].kv, rc_kv, rc_json,
                     cases[i].ok ? "ok" : "error");
        }
    }
}

static void
test_kv(void **state)
{
    const char *kv[] = {
        "devargs=net_pcap1,rx_pcap=in.pcap", "ofport=7", "rxq=2",
    };
    struct cfg_port port;
    char err[512];

    (void) state;
    assert_int_equal(cfg_port_from_kv("p1", "dpdk", kv, 3, &port, err,
                                      sizeof err), 0);
    assert_string_equal(port.name, "p1");
    assert_string_equal(port.type, "dpdk");
    assert_int_equal(port.ofport, 7);
    assert_int_equal(port.n_options, 2);
    assert_string_equal(port.options[0].key, "devargs");
    /* Only the first '=' splits. */
    assert_string_equal(port.options[0].value, "net_pcap1,rx_pcap=in.pcap");
    assert_string_equal(cfg_port_get(&port, "rxq"), "2");
    cfg_port_uninit(&port);
    assert_null(port.name);
    cfg_port_uninit(NULL);

    /* No ofport: 0. Dummy without options. */
    assert_int_equal(cfg_port_from_kv("d", "dummy", NULL, 0, &port, err,
                                      sizeof err), 0);
    assert_int_equal(port.ofport, 0);
    assert_int_equal(port.n_options, 0);
    cfg_port_uninit(&port);
}

static void
test_kv_errors(void **state)
{
    static const struct {
        const char *name, *type;
        const char *kv[3];
        size_t n;
        const char *msg;
    } cases[] = {
        { "p", "dpdk", { "devarg=x" }, 1,
          "devarg: unknown key (type dpdk takes devargs, rxq, txq, mtu)" },
        { "p", "dpdk", { "rxq=2" }, 1,
          "devargs: missing (required for type dpdk)" },
        { "p", "dpdk", { "devargs=x", "rxq=x" }, 2,
          "rxq: must be an integer 1..64" },
        { "p", "dpdk", { "devargs=x", "rxq=+2" }, 2, "rxq: must be an int" },
        { "p", "dpdk", { "devargs=x", "rxq=" }, 2, "rxq: must be an int" },
        { "p", "dpdk", { "devargs" }, 1, "devargs: expected KEY=VALUE" },
        { "p", "dpdk", { "=x" }, 1, "=x: expected KEY=VALUE" },
        { "p", "dpdk", { "devargs=x", "devargs=y" }, 2, "devargs: given tw" },
        { "p", "dpdk", { "devargs=", }, 1, "devargs: must be a non-empty" },
        { "p", "dummy", { "ofport=0" }, 1, "ofport: must be an integer 1..6" },
        { "p", "dummy", { "ofport=65280" }, 1, "ofport: must be an integer" },
        { "p", "dummy", { "ofport=1", "ofport=2" }, 2, "ofport: given twice" },
        { "p", "dummy", { "name=q" }, 1, "name: is an argument" },
        { "p", "dummy", { "type=tap" }, 1, "type: is an argument" },
        { "p", "dumm", { NULL }, 0, "type: must be one of" },
        { "p", NULL, { NULL }, 0, "type: must be one of" },
        { "", "dummy", { NULL }, 0, "name: must be" },
        { "a b", "dummy", { NULL }, 0, "name: must be" },
        { "p", "tap", { "addresses=1.2.3.4/24,x" }, 1,
          "addresses: \"x\" is not ADDR/PREFIX" },
        { "p", "vhostuserclient", { "queues=2" }, 1, "path: missing" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_port port;
        char err[512] = "";
        int rc;

        rc = cfg_port_from_kv(cases[i].name, cases[i].type, cases[i].kv,
                              cases[i].n, &port, err, sizeof err);
        if (rc != EINVAL || !strstr(err, cases[i].msg)) {
            fail_msg("case %zu: rc=%d err=\"%s\" expected \"%s\"", i, rc,
                     err, cases[i].msg);
        }
        assert_null(port.name);
        assert_int_equal(port.n_options, 0);
    }
}

/* ---- The port classes' option tables. ---- */

/* Every registered class's table is well formed. */
static void
test_port_option_tables(void **state)
{
    const struct port_class *class;
    size_t n_classes = 0;

    (void) state;
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        const struct port_opt_def *t = port_opt_table(class->type);

        n_classes++;
        assert_non_null(t);
        for (const struct port_opt_def *d = t; d->name; d++) {
            char msg[256];

            /* A name the config file can carry, not a common key. */
            assert_true(d->name[0] && strlen(d->name) < 32);
            assert_int_equal(strspn(d->name, "abcdefghijklmnopqrstuvwxyz_"),
                             strlen(d->name));
            assert_false(!strcmp(d->name, "name") || !strcmp(d->name, "type")
                         || !strcmp(d->name, "ofport")
                         || !strncmp(d->name, "offload", 7));
            assert_ptr_equal(port_opt_find(t, d->name), d);  /* Unique. */
            assert_true(d->type == PORT_OPT_UINT
                        || d->type == PORT_OPT_STRING
                        || d->type == PORT_OPT_LIST);
            assert_true(d->min <= d->max);
            assert_true(d->doc && d->doc[0] && !strchr(d->doc, '|')
                        && !strchr(d->doc, '\n'));
            /* Required options have no default; the others say it. */
            assert_true(d->required ? !d->dflt : d->dflt && d->dflt[0]);
            if (d->type == PORT_OPT_UINT) {
                char v[16];

                assert_null(d->check);
                /* A numeric default is in range. */
                if (d->dflt && d->dflt[0] >= '0' && d->dflt[0] <= '9') {
                    assert_int_equal(port_opt_check(d, d->dflt, NULL, msg,
                                                    sizeof msg), 0);
                }
                snprintf(v, sizeof v, "%"PRIu32, d->min);
                assert_int_equal(port_opt_check(d, v, NULL, msg,
                                                sizeof msg), 0);
                snprintf(v, sizeof v, "%"PRIu32, d->max);
                assert_int_equal(port_opt_check(d, v, NULL, msg,
                                                sizeof msg), 0);
            }
        }
    }
    /* dpdk tap dummy vxlan geneve vhost x2 */
    assert_int_equal(n_classes, 7);
    assert_null(port_opt_table("nosuchtype"));
    assert_null(port_opt_table(NULL));
}

/* The one checker: types and ranges, with messages that name the value. */
static void
test_port_option_check(void **state)
{
    static const struct port_opt_def u = {
        "n", PORT_OPT_UINT, false, 2, 10, "2", "a number", NULL,
    };
    static const struct port_opt_def str = {
        "s", PORT_OPT_STRING, false, 1, 3, "x", "a string", NULL,
    };
    static const struct port_opt_def list = {
        "l", PORT_OPT_LIST, false, 0, 2, "none", "a list", NULL,
    };
    char msg[256];
    size_t bad;

    (void) state;
    assert_int_equal(port_opt_check(&u, "10", NULL, msg, sizeof msg), 0);
    assert_int_equal(port_opt_check(&u, "11", NULL, msg, sizeof msg),
                     EINVAL);
    assert_string_equal(msg, "must be an integer 2..10 (11 is out of range)");
    assert_int_equal(port_opt_check(&u, "99999999999999999999999", NULL,
                                    msg, sizeof msg), EINVAL);
    assert_non_null(strstr(msg, "out of range"));
    assert_int_equal(port_opt_check(&u, "-3", NULL, msg, sizeof msg),
                     EINVAL);
    assert_string_equal(msg,
                        "must be an integer 2..10 (\"-3\" is not a number)");
    assert_int_equal(port_opt_check(&u, "", NULL, msg, sizeof msg), EINVAL);
    assert_int_equal(port_opt_check(&u, " 3", NULL, msg, sizeof msg), EINVAL);

    assert_int_equal(port_opt_check(&str, "abc", NULL, msg, sizeof msg), 0);
    assert_int_equal(port_opt_check(&str, "abcd", NULL, msg, sizeof msg),
                     EINVAL);
    assert_string_equal(msg, "must be a non-empty string of at most 3 bytes");
    assert_int_equal(port_opt_check(&str, "", NULL, msg, sizeof msg),
                     EINVAL);

    assert_int_equal(port_opt_check(&list, "", &bad, msg, sizeof msg), 0);
    assert_int_equal(bad, SIZE_MAX);
    assert_int_equal(port_opt_check(&list, "a,b", &bad, msg, sizeof msg),
                     0);
    assert_int_equal(port_opt_check(&list, "a,b,c", &bad, msg, sizeof msg),
                     EINVAL);
    assert_string_equal(msg, "must be a list of 0..2 elements, not 3");
    assert_int_equal(port_opt_check(&list, "a,,", &bad, msg, sizeof msg),
                     EINVAL);
    assert_int_equal(bad, 1);
    assert_string_equal(msg, "element 1 is empty");
}

/* Loads a config with one port of 'type' whose members are 'members';
 * returns the error and leaves the message in 'err'. */
static int
load_port(const char *type, const char *members, char *err, size_t errsize)
{
    char json[1024];
    struct cfg *cfg;
    int rc;

    snprintf(json, sizeof json, PORT_PRE "{\"name\":\"p\",\"type\":"
             "\"%s\"%s%s}" PORT_POST, type, members[0] ? "," : "", members);
    rc = cfg_load_string(json, &cfg, err, errsize);
    cfg_free(cfg);
    return rc;
}

/* Builds the JSON members and the KEY=VALUE list of the required options
 * of 't', each set to a good value, leaving out 'skip' (may be NULL). */
static size_t
required_opts(const struct port_opt_def *t, const char *skip, char *json,
              size_t jsize, char kv[][64], const char **kvp)
{
    size_t n = 0;

    json[0] = '\0';
    for (const struct port_opt_def *d = t; d->name; d++) {
        if (!d->required || (skip && !strcmp(skip, d->name))) {
            continue;
        }
        /* A value the option's own check takes. */
        const char *v = !strcmp(d->name, "remote_ip") ? "192.0.2.7"
                                                      : "net_null7";

        assert_int_equal(d->type, PORT_OPT_STRING);
        snprintf(json + strlen(json), jsize - strlen(json),
                 "%s\"%s\":\"%s\"", json[0] ? "," : "", d->name, v);
        snprintf(kv[n], 64, "%s=%s", d->name, v);
        kvp[n] = kv[n];
        n++;
    }
    return n;
}

/* For every registered type: an out-of-range or wrongly typed value, an
 * unknown option and a missing required one are refused, with the key
 * path in the message, both at config load and by the add-port
 * validator (cfg_port_from_kv()). */
static void
test_port_option_refusals(void **state)
{
    const struct port_class *class;

    (void) state;
    for (size_t i = 0; (class = port_class_at(i)) != NULL; i++) {
        const char *type = class->type;
        const struct port_opt_def *t = port_opt_table(type);
        char req[256], members[512], want[256], err[512];
        char kvbuf[8][64];
        const char *kv[8];
        struct cfg_port port;
        size_t n_req = required_opts(t, NULL, req, sizeof req, kvbuf, kv);

        /* The required ones alone are fine. */
        assert_int_equal(load_port(type, req, err, sizeof err), 0);
        assert_int_equal(cfg_port_from_kv("p", type, kv, n_req, &port, err,
                                          sizeof err), 0);
        cfg_port_uninit(&port);

        /* Unknown option. */
        snprintf(members, sizeof members, "%s%s\"frob\":1", req,
                 req[0] ? "," : "");
        assert_int_equal(load_port(type, members, err, sizeof err), EINVAL);
        snprintf(want, sizeof want, "bridges[0].ports[0].frob: unknown key "
                 "(type %s takes ", type);
        assert_non_null(strstr(err, want));
        kv[n_req] = "frob=1";
        assert_int_equal(cfg_port_from_kv("p", type, kv, n_req + 1, &port,
                                          err, sizeof err), EINVAL);
        assert_non_null(strstr(err, "frob: unknown key"));

        for (const struct port_opt_def *d = t; d->name; d++) {
            char kvopt[64];

            if (d->required) {
                /* Missing. */
                char r2[256], kb2[8][64];
                const char *kv2[8];
                size_t n2 = required_opts(t, d->name, r2, sizeof r2, kb2,
                                          kv2);

                assert_int_equal(load_port(type, r2, err, sizeof err),
                                 EINVAL);
                snprintf(want, sizeof want, "bridges[0].ports[0].%s: "
                         "missing (required for type %s)", d->name, type);
                assert_non_null(strstr(err, want));
                assert_int_equal(cfg_port_from_kv("p", type, kv2, n2, &port,
                                                  err, sizeof err), EINVAL);
                assert_non_null(strstr(err, want + 20));
            }
            if (d->type != PORT_OPT_UINT) {
                continue;
            }
            /* Out of range, at load and at add-port. */
            snprintf(members, sizeof members, "%s%s\"%s\":%"PRIu64, req,
                     req[0] ? "," : "", d->name, (uint64_t) d->max + 1);
            assert_int_equal(load_port(type, members, err, sizeof err),
                             EINVAL);
            snprintf(want, sizeof want, "bridges[0].ports[0].%s: must be an "
                     "integer %"PRIu32"..%"PRIu32, d->name, d->min, d->max);
            if (!strstr(err, want)) {
                fail_msg("%s: \"%s\" lacks \"%s\"", type, err, want);
            }
            snprintf(kvopt, sizeof kvopt, "%s=%"PRIu64, d->name,
                     (uint64_t) d->max + 1);
            kv[n_req] = kvopt;
            assert_int_equal(cfg_port_from_kv("p", type, kv, n_req + 1,
                                              &port, err, sizeof err),
                             EINVAL);
            assert_non_null(strstr(err, want + 20));
            assert_non_null(strstr(err, "out of range"));

            /* Wrong type: a string where an integer belongs. */
            snprintf(members, sizeof members, "%s%s\"%s\":\"%"PRIu32"\"",
                     req, req[0] ? "," : "", d->name, d->min);
            assert_int_equal(load_port(type, members, err, sizeof err),
                             EINVAL);
            assert_non_null(strstr(err, want));
            snprintf(kvopt, sizeof kvopt, "%s=twelve", d->name);
            assert_int_equal(cfg_port_from_kv("p", type, kv, n_req + 1,
                                              &port, err, sizeof err),
                             EINVAL);
            assert_non_null(strstr(err, "\"twelve\" is not a number"));
        }
    }
}

/* Reads 'path' (under $srcdir) into a new string. */
static char *
read_src_file(const char *name)
{
    const char *srcdir = getenv("srcdir");
    char path[512];
    char *text;
    long size;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", srcdir ? srcdir : ".", name);
    f = fopen(path, "r");
    if (!f) {
        fail_msg("cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    text = calloc(1, (size_t) size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t) size, f), (size_t) size);
    fclose(f);
    return text;
}

#define DOC_BEGIN \
    "<!-- port-options: begin (sluiced --list-port-options) -->\n"
#define DOC_END "<!-- port-options: end -->"

/* The reference in docs/control-protocol.md is the tables' own output. */
static void
test_port_option_doc(void **state)
{
    char *doc = read_src_file("docs/control-protocol.md");
    char *gen = NULL, *begin, *end;
    size_t gen_size = 0;
    FILE *f = open_memstream(&gen, &gen_size);

    (void) state;
    assert_non_null(f);
    assert_int_equal(port_opt_write_markdown(f), 0);
    fclose(f);
    begin = strstr(doc, DOC_BEGIN);
    assert_non_null(begin);
    begin += strlen(DOC_BEGIN);
    end = strstr(begin, DOC_END);
    assert_non_null(end);
    *end = '\0';
    if (strcmp(begin, gen)) {
        fail_msg("docs/control-protocol.md section 4 differs from the port "
                 "classes' tables; replace the lines between its "
                 "port-options markers with the output of `sluiced "
                 "--list-port-options`:\n%s", gen);
    }
    free(gen);
    free(doc);
}

/* Truncated input must fail cleanly at every length. */
static void
test_offload(void **state)
{
    static const char json[] =
        "{\"offload\":{\"min_packets\":5,\"max_flows\":7,"
        "\"eviction\":\"none\",\"simnic_capacity\":3},"
        "\"bridges\":[{\"name\":\"br0\",\"ports\":["
        "{\"name\":\"d1\",\"type\":\"dummy\",\"offload\":{\"mode\":"
        "\"full\",\"provider\":\"simnic\",\"nic\":\"nic0\"}},"
        "{\"name\":\"p1\",\"type\":\"dpdk\",\"devargs\":\"net_null0\","
        "\"offload\":{\"mode\":\"partial\"}},"
        "{\"name\":\"d2\",\"type\":\"dummy\"}]}]}";
    static const char *const kv[] = { "offload=full", "offload_nic=n1",
                                      "offload_provider=simnic" };
    static const char *const kv_bad[] = { "offload=most" };
    struct cfg_port port;
    struct cfg *cfg;
    char err[256];

    (void) state;
    assert_int_equal(cfg_load_string(json, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->offload.min_packets, 5);
    assert_int_equal(cfg->offload.max_flows, 7);
    assert_int_equal(cfg->offload.evict, 0);
    assert_int_equal(cfg->offload.simnic_capacity, 3);
    assert_int_equal(cfg->offload.min_pps, 1000);      /* defaults */
    assert_int_equal(cfg->offload.stats_ms, 1000);
    assert_int_equal(cfg->bridges[0].ports[0].offload.mode,
                     CFG_OFFLOAD_FULL);
    assert_string_equal(cfg->bridges[0].ports[0].offload.provider,
                        "simnic");
    assert_string_equal(cfg->bridges[0].ports[0].offload.nic, "nic0");
    /* "offload" is not a port option for the provider. */
    assert_int_equal(cfg->bridges[0].ports[0].n_options, 0);
    assert_int_equal(cfg->bridges[0].ports[1].offload.mode,
                     CFG_OFFLOAD_PARTIAL);
    assert_string_equal(cfg->bridges[0].ports[1].offload.provider, "");
    assert_int_equal(cfg->bridges[0].ports[2].offload.mode,
                     CFG_OFFLOAD_NONE);
    cfg_free(cfg);

    assert_int_equal(cfg_port_from_kv("d9", "dummy", kv, 3, &port, err,
                                      sizeof err), 0);
    assert_int_equal(port.offload.mode, CFG_OFFLOAD_FULL);
    assert_string_equal(port.offload.nic, "n1");
    assert_int_equal(port.n_options, 0);
    cfg_port_uninit(&port);
    assert_int_equal(cfg_port_from_kv("d9", "dummy", kv_bad, 1, &port, err,
                                      sizeof err), EINVAL);
    assert_non_null(strstr(err, "offload: must be"));
}

static void
test_truncated(void **state)
{
    char path[512], err[512];
    char *text;
    long size;
    FILE *f;

    (void) state;
    f = fopen(data_path("config-full.json", path, sizeof path), "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    text = calloc(1, (size_t) size + 1);
    assert_int_equal(fread(text, 1, (size_t) size, f), (size_t) size);
    fclose(f);

    for (long n = 0; n < size - 2; n++) {
        char saved = text[n];
        struct cfg *cfg;

        text[n] = '\0';
        assert_int_equal(cfg_load_string(text, &cfg, err, sizeof err),
                         EINVAL);
        assert_null(cfg);
        text[n] = saved;
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_json),
        cmocka_unit_test(test_ofport_assignment),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_openflow),
        cmocka_unit_test(test_same_port_same_verdict),
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_kv_errors),
        cmocka_unit_test(test_offload),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_port_option_tables),
        cmocka_unit_test(test_port_option_check),
        cmocka_unit_test(test_port_option_refusals),
        cmocka_unit_test(test_port_option_doc),
    };

    /* Port types and their options come from the registered classes;
     * registering them needs no EAL. */
    port_init_classes();
    vhost_register_classes();
    offload_init_classes();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
