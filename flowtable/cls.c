/* SPDX-License-Identifier: BSD-3-Clause */
/* cls.c: placeholder until implemented. */
#include "cls.h"
