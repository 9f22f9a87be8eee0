/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c: placeholder until implemented. */
extern int sl_placeholder_main;
int main(void) { return 1; }
