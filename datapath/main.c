/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c: sluiced: config, EAL, mempool, switch, control socket, loop. */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "bridge.h"
#include "config.h"
#include "dp.h"
#include "log.h"
#include "ctl-handlers.h"
#include "http.h"
#include "openflow.h"
#include "ctl.h"
#include "ofp-parse.h"
#include "offload-provider.h"
#include "port.h"
#include "port-options.h"
#include "state.h"
#include "telemetry.h"
#include "vhost.h"

LOG_MODULE(main);

#define SLUICE_MBUF_CACHE 256

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: sluiced [--config FILE] [--check-config FILE]\n"
            "  --config FILE        run with this JSON config (default: the\n"
            "                       embedded one, see --print-default)\n"
            "  --check-config FILE  validate FILE (keys, values, flows) and "
            "exit\n"
            "  --print-default      print the embedded default config\n"
            "  --list-port-options  print the options of each port type "
            "(markdown)\n"
            "  --version            print the version and exit\n"
            "  --help               this text\n"
            "See sluiced(8).\n");
}

/* Checks what cfg_load can't: every configured flow parses. */
static int
check_flows(const struct cfg *cfg, char *err, size_t errsize)
{
    for (size_t b = 0; b < cfg->n_bridges; b++) {
        const struct cfg_bridge *br = &cfg->bridges[b];

        for (size_t i = 0; i < br->n_flows; i++) {
            struct of_flow_spec spec;
            char perr[256];

            if (of_flow_parse(&spec, br->flows[i], OFFC_ADD, perr,
                              sizeof perr)) {
                snprintf(err, errsize, "bridges[%zu].flows[%zu]: %s", b, i,
                         perr);
                return EINVAL;
            }
            of_flow_spec_uninit(&spec);
        }
    }
    return 0;
}

/* With a state directory, the bridges, ports and flows saved by the last
 * run of this instance (its control socket: see state.h) replace the
 * config's bridges.  An unusable state file is reported, kept aside as
 * FILE.bad, and the config is used.  'path' receives the state file. */
static int
restore_state(struct cfg *cfg, char *path, size_t pathsize)
{
    struct cfg *saved;
    char legacy[512], bad[520], err[512];
    int ret;

    if (!cfg->state_dir[0]) {
        return 0;
    }
    if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
        LOG_ERR("state.dir %s: %s", cfg->state_dir, strerror(errno));
        return errno;
    }
    state_path(path, pathsize, cfg->state_dir, cfg->control_socket);
    snprintf(legacy, sizeof legacy, "%s/%s", cfg->state_dir,
             STATE_LEGACY_FILE_NAME);
    if (access(path, F_OK) && !access(legacy, F_OK)
        && !strcmp(cfg->control_socket, CFG_DEFAULT_SOCKET)) {
        /* Saved before state files had owners: the instance on the
         * default socket adopts it. */
        if (rename(legacy, path)) {
            LOG_WARN("state: cannot adopt %s: %s", legacy, strerror(errno));
        } else {
            LOG_INFO("state: %s is now %s", legacy, path);
        }
    }
    ret = state_load(path, cfg->bridges_checksum, cfg->control_socket,
                     &saved, err, sizeof err);
    if (ret == ENOENT) {
        return 0;
    } else if (ret == ESTALE) {
        LOG_WARN("the config's bridges changed since the state was saved: "
                 "starting from the config (%s)", err);
        return 0;
    } else if (ret) {
        snprintf(bad, sizeof bad, "%s.bad", path);
        LOG_ERR("state file unusable, starting from the config (kept as "
                "%s): %s", bad, err);
        rename(path, bad);
        return 0;
    }
    /* Swap the bridges. */
    {
        struct cfg_bridge *b = cfg->bridges;
        size_t n = cfg->n_bridges;

        cfg->bridges = saved->bridges;
        cfg->n_bridges = saved->n_bridges;
        saved->bridges = b;
        saved->n_bridges = n;
    }

    LOG_INFO("restored %zu bridge(s) from %s", cfg->n_bridges, path);
    cfg_free(saved);
    return 0;
}

/* Where sw's change callback saves the state (state.h). */
struct state_saver {
    char path[512];
    uint64_t config_sum;            /* cfg->bridges_checksum. */
    const char *instance;           /* cfg->control_socket. */
};

/* sw's change callback: saves the state file.  A failure is logged; the
 * change itself stands. */
static void
save_state(struct sw *sw, void *saver_)
{
    const struct state_saver *saver = saver_;
    char err[256];

    if (state_save(sw, saver->path, saver->config_sum, saver->instance, err,
                   sizeof err)) {
        LOG_WARN_RL("saving state: %s", err);
    }
}

static void
on_signal(evutil_socket_t sig, short what, void *base)
{
    (void) what;
    LOG_INFO("signal %d, shutting down", (int) sig);
    event_base_loopbreak(base);
}

struct run_ctx {
    struct sw *sw;
    struct event *timer;
    long long telemetry_ms;         /* last telemetry_refresh() */
};

static void
on_timer(evutil_socket_t fd, short what, void *ctx_)
{
    struct run_ctx *ctx = ctx_;
    unsigned ms = sw_run(ctx->sw);
    long long now = dp_time_ms();

    if (now - ctx->telemetry_ms >= 1000) {
        telemetry_refresh(ctx->sw);
        ctx->telemetry_ms = now;
    }
    struct timeval tv = { .tv_sec = ms / 1000,
                          .tv_usec = (ms % 1000) * 1000 };

    (void) fd;
    (void) what;
    evtimer_add(ctx->timer, &tv);
}

/* The EAL pins the main thread to the main lcore's CPU.  The main loop is
 * mostly asleep and may run on any CPU but the PMDs': a flow-table change
 * keeps it busy for as long as revalidation takes, and on a PMD's CPU it
 * would take that PMD's time slices (stalls of milliseconds).  Threads it
 * creates later (offload, vhost events) inherit the set.  If the PMDs
 * take every CPU, it keeps them all. */
static void
unpin_self(const struct cfg *cfg)
{
    cpu_set_t set;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    CPU_ZERO(&set);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
        CPU_SET(i, &set);
    }
    for (size_t k = 0; k < cfg->n_pmd_cores; k++) {
        if (cfg->pmd_cores[k] < CPU_SETSIZE) {
            CPU_CLR(cfg->pmd_cores[k], &set);
        }
    }
    if (!CPU_COUNT(&set)) {
        for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
            CPU_SET(i, &set);
        }
    }
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* The server side of DPDK's packet capture: dpdk-dumpcap and dpdk-pdump,
 * secondary processes, then capture any DPDK ethdev port of sluiced
 * (docs/OPERATIONS.md, "Packet capture").  They can attach only when the
 * memory is shared: hugepage files kept (no --no-huge, --in-memory or
 * --huge-unlink).  Returns true if the server runs. */
static bool
pdump_init(const struct cfg *cfg)
{
    static const char *const unshared[] = {
        "--no-huge", "--in-memory", "--huge-unlink", NULL
    };
    const char *why = NULL;

    for (size_t i = 0; i < cfg->n_dpdk_args && !why; i++) {
        for (size_t k = 0; unshared[k]; k++) {
            if (!strncmp(cfg->dpdk_args[i], unshared[k],
                         strlen(unshared[k]))) {
                why = unshared[k];
            }
        }
    }
    if (rte_pdump_init()) {
        LOG_INFO("dpdk-dumpcap cannot attach: %s",
                 rte_strerror(rte_errno));
        return false;
    }
    if (why) {
        LOG_INFO("dpdk-dumpcap cannot attach: the memory is not shared "
                 "(%s); sluice-ofctl capture-pcap captures any port", why);
    }
    return true;
}

int
main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", required_argument, NULL, 'k' },
        { "print-default", no_argument, NULL, 'p' },
        { "list-port-options", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    bool check_only = false;
    bool pdump = false;
    struct cfg *cfg = NULL;
    char err[512];
    char **eal_argv;
    int opt, ret, status = 1;
    struct rte_mempool *mp = NULL;
    struct sw *sw = NULL;
    struct event_base *base = NULL;
    struct ctl_server *ctl = NULL;
    struct http_server *http = NULL;
    struct ofsw *ofsw = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    struct run_ctx run = { 0 };
    struct state_saver saver = { .path = "" };

    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'k':
            config_path = optarg;
            check_only = true;
            break;
        case 'p':
            fputs(cfg_default_json(), stdout);
            return 0;
        case 'l':
            /* Registering a class needs no EAL. */
            port_init_classes();
            vhost_register_classes();
            offload_init_classes();
            return port_opt_write_markdown(stdout) || fflush(stdout) ? 1 : 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sluiced (sluice) %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    /* The config's port options are checked against the port classes'
     * tables: register the classes first (no EAL needed). */
    port_init_classes();
    vhost_register_classes();
    offload_init_classes();
    ret = config_path ? cfg_load_file(config_path, &cfg, err, sizeof err)
                      : cfg_load_string(cfg_default_json(), &cfg, err,
                                        sizeof err);
    if (!ret) {
        ret = check_flows(cfg, err, sizeof err);
    }
    if (ret) {
        /* The loader's messages already name the file when there is one. */
        LOG_ERR("%s%s", config_path ? "" : "embedded default config: ",
                err);
        cfg_free(cfg);
        return 1;
    }
    if (check_only) {
        printf("%s: ok\n", config_path);
        cfg_free(cfg);
        return 0;
    }
    /* The control socket first: it is what makes this instance one (a
     * second daemon on the same socket stops here, before it reads or
     * writes the state, or opens a port). */
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    base = event_base_new();
    if (!base) {
        LOG_ERR("cannot create event loop");
        cfg_free(cfg);
        return 1;
    }
    ctl = ctl_server_create(base, cfg->control_socket, err, sizeof err);
    if (!ctl) {
        LOG_ERR("control socket %s: %s", cfg->control_socket, err);
        event_base_free(base);
        cfg_free(cfg);
        return 1;
    }
    if (restore_state(cfg, saver.path, sizeof saver.path)) {
        ctl_server_destroy(ctl);
        event_base_free(base);
        cfg_free(cfg);
        return 1;
    }

    eal_argv = calloc(cfg->n_dpdk_args + 2, sizeof *eal_argv);
    if (!eal_argv) {
        ctl_server_destroy(ctl);
        event_base_free(base);
        cfg_free(cfg);
        return 1;
    }
    eal_argv[0] = argv[0];
    for (size_t i = 0; i < cfg->n_dpdk_args; i++) {
        eal_argv[i + 1] = cfg->dpdk_args[i];
    }
    if (rte_eal_init((int) cfg->n_dpdk_args + 1, eal_argv) < 0) {
        LOG_ERR("DPDK EAL init failed: %s", rte_strerror(rte_errno));
        free(eal_argv);
        ctl_server_destroy(ctl);
        event_base_free(base);
        cfg_free(cfg);
        return 1;
    }
    unpin_self(cfg);
    pdump = pdump_init(cfg);

    mp = rte_pktmbuf_pool_create("sluice_mbufs", cfg->n_mbufs,
                                 SLUICE_MBUF_CACHE, 0,
                                 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!mp) {
        LOG_ERR("cannot create mbuf pool: %s", rte_strerror(rte_errno));
        goto out;
    }

    ret = sw_create(cfg, mp, &sw, err, sizeof err);
    if (ret) {
        LOG_ERR("%s", err);
        goto out;
    }
    ret = sw_attach_events(sw, base, err, sizeof err);
    if (ret) {
        /* Not fatal: only tunnel encapsulation needs the kernel's
         * routes. */
        LOG_WARN("tunnels: cannot watch the kernel's routes: %s", err);
    }
    ret = telemetry_init();
    if (ret) {
        LOG_WARN("DPDK telemetry: cannot register /sluice/ commands: %s",
                 strerror(-ret));
    }
    if (cfg->state_dir[0]) {
        /* From now on every change is saved; the first save records what
         * the config (or the restored state) built. */
        saver.config_sum = cfg->bridges_checksum;
        saver.instance = cfg->control_socket;
        sw_set_change_cb(sw, save_state, &saver);
        save_state(sw, &saver);
    }

    if (cfg->control_group[0]) {
        struct group *gr = getgrnam(cfg->control_group);

        if (!gr || chown(cfg->control_socket, (uid_t) -1, gr->gr_gid)
            || chmod(cfg->control_socket, 0660)) {
            LOG_ERR("control.group %s: %s", cfg->control_group,
                    gr ? strerror(errno) : "no such group");
            goto out;
        }
    }
    ret = ctl_handlers_register(ctl, sw);
    if (ret) {
        LOG_ERR("registering methods: %s",
                strerror(ret));
        goto out;
    }
    if (cfg->http_listen[0]) {
        http = http_server_create(base, cfg->http_listen, ctl, sw, err,
                                  sizeof err);
        if (!http) {
            LOG_ERR("%s", err);
            goto out;
        }
    }
    ret = http_register_methods(ctl, http);
    if (ret) {
        LOG_ERR("registering methods: %s", strerror(ret));
        goto out;
    }
    ofsw = ofsw_create(base, sw, err, sizeof err);
    if (!ofsw) {
        LOG_ERR("%s", err);
        goto out;
    }
    ret = ofsw_register_methods(ofsw, ctl);
    if (ret) {
        LOG_ERR("registering methods: %s", strerror(ret));
        goto out;
    }

    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    run.sw = sw;
    run.timer = evtimer_new(base, on_timer, &run);
    if (!sigint || !sigterm || !run.timer) {
        LOG_ERR("out of memory");
        goto out;
    }
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    on_timer(-1, 0, &run);

    LOG_INFO("running, %u PMD thread(s), control socket %s",
             dp_n_pmds(sw_dp(sw)), cfg->control_socket);
    event_base_dispatch(base);
    status = 0;

out:
    if (run.timer) {
        event_free(run.timer);
    }
    if (sigint) {
        event_free(sigint);
    }
    if (sigterm) {
        event_free(sigterm);
    }
    ofsw_destroy(ofsw);
    http_server_destroy(http);
    ctl_server_destroy(ctl);
    telemetry_fini();
    sw_destroy(sw);
    if (base) {
        event_base_free(base);
    }
    if (mp) {
        rte_mempool_free(mp);
    }
    if (pdump) {
        rte_pdump_uninit();
    }
    rte_eal_cleanup();
    free(eal_argv);
    cfg_free(cfg);
    if (!status) {
        LOG_INFO("stopped");
    }
    return status;
}
