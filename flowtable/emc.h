/* SPDX-License-Identifier: BSD-3-Clause */
/* emc.h: placeholder until written. */
#ifndef SLUICE_EMC_H
#define SLUICE_EMC_H 1
#endif
