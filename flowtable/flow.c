/* SPDX-License-Identifier: BSD-3-Clause */
/* flow.c: placeholder until implemented. */
#include "flow.h"
