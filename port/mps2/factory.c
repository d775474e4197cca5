/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mps2-factory: the factory programmer for the MPS2 port, on the host.
 * Writes a fresh flash file (all erased) and installs a signed package
 * into it with the core's install stream over the same NOR rules and
 * layout the board uses (nor.c), so the first boot is the package's trial.
 * Usage: mps2-factory FLASH.img PUBKEY.pem PACKAGE
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "bulwark/bulwark.h"
#include "bwh/host.h"

static bw_err persist(void *ctx, uint32_t off, const void *buf, size_t len)
{
    int fd = *(int *)ctx;

    return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? BW_OK : BW_E_IO;
}

int main(int argc, char **argv)
{
    static const uint8_t vendor[16] = MPS2_VENDOR_ID, class[16] = MPS2_CLASS_ID;
    struct bw_suit_expect e = {vendor, class, 0};
    static struct mps2_dev dev;
    struct bw_update u;
    struct bw_ec_key key;
    struct bwh_pkg p;
    const char *stage = "open";
    uint8_t *mem = NULL, *pem = NULL;
    size_t pem_len = 0;
    int fd = -1, ret = 1;
    bw_err rc;

    bw_ec_key_init(&key);
    memset(&p, 0, sizeof(p));
    p.fd = -1;
    if (argc != 4) {
        fprintf(stderr, "usage: mps2-factory FLASH.img PUBKEY.pem PACKAGE\n");
        return 2;
    }
    mem = bwh_malloc(MPS2_FLASH_SIZE);
    fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (!mem || fd < 0) {
        perror(argv[1]);
        goto out;
    }
    memset(mem, 0xff, MPS2_FLASH_SIZE);
    if (persist(&fd, 0, mem, MPS2_FLASH_SIZE) != BW_OK) {
        perror(argv[1]);
        goto out;
    }
    mps2_dev_init(&dev, mem, persist, &fd);
    stage = "key";
    rc = bwh_read_file(argv[2], 1 << 16, &pem, &pem_len);
    if (!rc)
        rc = bw_ec_import(&key, pem, pem_len);
    if (!rc) {
        stage = "package";
        rc = bwh_pkg_open(&p, argv[3], &key, BW_SUIT_ENVELOPE_MAX);
    }
    if (!rc) {
        stage = "device";
        rc = bw_update_open(&u, &dev.bank[0].flash, &dev.bank[1].flash, &dev.store);
    }
    if (!rc)
        rc = bwh_pkg_install(&p, &u, &e, NULL, &stage);
    if (!rc) {
        stage = "envelope";
        rc = mps2_env_store(&dev, u.st.trial, p.buf, p.env_len);
    }
    if (rc) {
        fprintf(stderr, "mps2-factory: %s: %s\n", stage, bw_strerror(rc));
        goto out;
    }
    printf("mps2-factory: installed sequence %llu into bank %c (%u erases, %u programs)\n",
           (unsigned long long)p.suit.sequence, u.st.trial == BW_SLOT_A ? 'A' : 'B',
           dev.nor.erases, dev.nor.programs);
    ret = 0;
out:
    if (p.fd >= 0 || p.buf)
        bwh_pkg_close(&p);
    bw_ec_key_clear(&key);
    bwh_free(pem);
    bwh_free(mem);
    if (fd >= 0)
        close(fd);
    return ret;
}
