/* SPDX-License-Identifier: BSD-3-Clause */
/* mac-learning.h: placeholder until written. */
#ifndef SLUICE_MAC_LEARNING_H
#define SLUICE_MAC_LEARNING_H 1
#endif
