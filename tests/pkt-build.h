/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-build.h: placeholder. */
#ifndef PKT_BUILD_H
#define PKT_BUILD_H 1
#endif
