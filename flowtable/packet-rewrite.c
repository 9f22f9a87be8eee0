/* SPDX-License-Identifier: BSD-3-Clause */
/* packet-rewrite.c: placeholder until implemented. */
#include "packet-rewrite.h"
