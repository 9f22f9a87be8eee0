/* SPDX-License-Identifier: BSD-3-Clause */
/* mac-learning.c: placeholder until implemented. */
#include "mac-learning.h"
