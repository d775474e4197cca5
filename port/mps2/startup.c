/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reset for the bootloader and the application: the vector table, .data
 * copied and .bss zeroed, the stack painted so that mps2_stack_peak can
 * tell how deep it went (bench/README.md's peak stack), then main. A fault
 * prints and ends the run as a failure.
 */
#include <stdint.h>
#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_bottom, _stack_top;
int main(void);
void reset_handler(void);
void fault_handler(void);

#define PAINT 0x5a5aa5a5u

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_stack_top, (const void *)reset_handler, (const void *)fault_handler,
    (const void *)fault_handler, (const void *)fault_handler, (const void *)fault_handler,
    (const void *)fault_handler, 0, 0, 0, 0, (const void *)fault_handler,
    (const void *)fault_handler, 0, (const void *)fault_handler, (const void *)fault_handler};

void reset_handler(void)
{
    uint32_t *p, *sp;

    for (p = &_sdata; p < &_edata; p++)
        *p = (&_sidata)[p - &_sdata];
    for (p = &_sbss; p < &_ebss; p++)
        *p = 0;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &_stack_bottom; p < sp - 16; p++)
        *p = PAINT;
    (void)main();
    mps2_exit(0);
}

uint32_t mps2_stack_peak(void)
{
    uint32_t *p = &_stack_bottom;

    while (p < &_stack_top && *p == PAINT)
        p++;
    return (uint32_t)((uint8_t *)&_stack_top - (uint8_t *)p);
}

void fault_handler(void)
{
    mps2_puts("fault\n");
    mps2_exit(0 == 1);
}
