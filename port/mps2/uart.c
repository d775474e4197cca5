/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UART0 of the MPS2 board (Arm CMSDK APB UART at 0x40004000), polled: the
 * byte channel the updater receives a package on (QEMU: -serial stdio or a
 * socket). No interrupts, no buffer: the sender is paced by the receiver.
 */
#include "board.h"

#define UART0 ((volatile uint32_t *)0x40004000u)
#define DATA 0
#define STATE 1 /* bit 0 TX full, bit 1 RX full */
#define CTRL 2  /* bit 0 TX enable, bit 1 RX enable */
#define BAUDDIV 4

void mps2_uart_init(void)
{
    UART0[BAUDDIV] = 25000000u / 115200u;
    UART0[CTRL] = 3u;
}

size_t mps2_uart_read(uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        while (!(UART0[STATE] & 2u))
            ;
        buf[i] = (uint8_t)UART0[DATA];
    }
    return len;
}

void mps2_uart_puts(const char *s)
{
    for (; *s; s++) {
        while (UART0[STATE] & 1u)
            ;
        UART0[DATA] = (uint8_t)*s;
    }
}
