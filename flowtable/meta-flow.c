/* SPDX-License-Identifier: BSD-3-Clause */
/* meta-flow.c: placeholder until implemented. */
#include "meta-flow.h"
