/* SPDX-License-Identifier: BSD-3-Clause */
/* sluice-ofctl: placeholder. */
int main(void) { return 1; }
