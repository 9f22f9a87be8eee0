/* SPDX-License-Identifier: BSD-3-Clause */
/* pkt-build.c: placeholder. */
#include "pkt-build.h"
