/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-parse.c: placeholder until implemented. */
#include "ofp-parse.h"
