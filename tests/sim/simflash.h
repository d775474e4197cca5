/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated flash for power-cut tests: every write and sync counts as one
 * operation on a counter shared by all simulated devices of a "machine";
 * at operation N the power goes: the write in progress is torn (its first
 * half lands) or lost, unsynced writes are lost (volatile mode) or kept
 * (write-through mode), and every later operation fails with BW_E_IO.
 */
#ifndef BW_SIMFLASH_H
#define BW_SIMFLASH_H

#include <stdint.h>
#include "bulwark/update.h"

enum sim_mode {
    SIM_VOLATILE = 0,      /* writes reach the medium only at sync */
    SIM_WRITE_THROUGH = 1  /* every write is durable, the cut one torn */
};

struct sim_power {
    unsigned long ops;     /* operations so far */
    unsigned long cut_at;  /* 0: never */
    int dead;
    enum sim_mode mode;
};

struct simflash {
    struct bw_flash f;
    struct sim_power *pw;
    uint8_t *durable; /* what survives a power cut */
    uint8_t *current; /* what reads see */
    uint64_t size;
};

void sim_init(struct simflash *s, struct sim_power *pw, uint64_t size, uint32_t align);
/* After a cut: what reads will see after reboot (the durable image). */
void sim_reboot(struct simflash *s);
void sim_free(struct simflash *s);

#endif
