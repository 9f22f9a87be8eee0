/* SPDX-License-Identifier: BSD-3-Clause */
/* emc.c: placeholder until implemented. */
#include "emc.h"
