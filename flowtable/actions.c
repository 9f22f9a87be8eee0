/* SPDX-License-Identifier: BSD-3-Clause */
/* actions.c: placeholder until implemented. */
#include "actions.h"
