/* SPDX-License-Identifier: BSD-3-Clause */
/* ofproto.c: placeholder until implemented. */
#include "ofproto.h"
