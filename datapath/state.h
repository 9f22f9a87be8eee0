/* SPDX-License-Identifier: BSD-3-Clause */
/* state.h: bridges, ports and flows saved across daemon restarts. */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H 1

/*
 * What
 *   The switch's run-time state (every bridge with its ports and every flow
 *   of its tables) written to a state file after each change, and read back
 *   at start, so that a restart with the same config -- also after SIGKILL
 *   -- comes back with the bridges, ports and flows it had.
 *
 * Design
 *   A state file belongs to one instance of the daemon, named by its
 *   control socket (two daemons can never share one): it is
 *   STATE_DIR/sluiced-HASH.state, HASH the FNV-1a 64 of the socket path
 *   (state_path()), and it records the path, which loading checks.  So two
 *   daemons with different control sockets never restore each other's
 *   ports and flows, even in the same state.dir; and the daemon binds its
 *   control socket before it reads or writes the state.  A file of the
 *   old name (sluiced.state, before files had owners) is adopted by the
 *   instance on the default socket.
 *   The file is JSON in the config file's "bridges" schema (so loading it
 *   reuses the config loader's validation), wrapped with a format version,
 *   its instance, the checksum of the config's own "bridges" section it
 *   was saved under (a state applies only to the configuration it came
 *   from: after the config's bridges are edited, the config wins), and a
 *   checksum of the bridges text:
 *     {"sluice_state": 1, "instance": "/run/sluice/sluiced.sock",
 *      "config": "fnv1a64:...", "checksum": "fnv1a64:...",
 *      "bridges": [...]}
 *   Flows are stored as add-flow text (of_flow_format()): table, cookie,
 *   timeouts, priority, match and actions; counters and ages are not kept.
 *   It is written atomically: to "FILE.tmp", fsync, rename over FILE, fsync
 *   of the directory.  A file that does not parse, has the wrong version,
 *   or fails the checksum is reported and not used at all (the config's
 *   bridges are used instead): never loaded half-way.
 *
 * Thread-safety
 *   Main thread.
 *
 * Ownership
 *   state_load() returns a new struct cfg the caller frees with cfg_free().
 */

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct sw;

#define STATE_LEGACY_FILE_NAME "sluiced.state"

/* The state file of the instance whose control socket is 'instance', in
 * 'dir'. */
void state_path(char *buf, size_t size, const char *dir,
                const char *instance);

/* Writes the state of 'sw' to 'path'.  Returns 0 or an errno with 'err'
 * filled; on error the previous file is left as it was. */
int state_save(const struct sw *sw, const char *path, uint64_t config_sum,
               const char *instance, char *err, size_t errsize);

/* Reads 'path'.  Returns 0 and sets *bridgesp to a cfg holding only its
 * bridges; ENOENT if there is no state file; ESTALE if it was saved under
 * a configuration whose bridges differ from 'config_sum' (the config was
 * edited: it wins); EINVAL (with 'err' saying why: syntax, version,
 * checksum, another instance's, a bad key) if it is unusable. */
int state_load(const char *path, uint64_t config_sum, const char *instance,
               struct cfg **bridgesp, char *err, size_t errsize);

#endif /* state.h */
