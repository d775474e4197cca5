/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbed TLS 2.28 configuration for the MPS2 port: what the device core needs
 * (SHA-256 and ECDSA P-256 verify) and nothing else. No entropy source and
 * no DRBG, so src/crypto/crypto_mbedtls.c returns BW_E_UNSUPPORTED for
 * bw_random, bw_ec_generate and bw_ec_sign*; no GCM, HKDF or key parsing.
 * The bignum heap is a static buffer (memory_buffer_alloc), no malloc.
 */
#ifndef BW_MPS2_MBEDTLS_CONFIG_H
#define BW_MPS2_MBEDTLS_CONFIG_H

#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_UDBL_DIVISION       /* Cortex-M4 has no 64/32 divide */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS /* no libc heap: calloc is memory_buffer_alloc */
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* not in the bootloaders (make HEAP_STATS=1 puts it back to measure) */
#if !defined(MPS2_BOOTLOADER) || MPS2_HEAP_STATS
#define MBEDTLS_MEMORY_DEBUG           /* peak heap use, for bench/README.md */
#endif
/* its reports go nowhere (no stdio: newlib's would bring malloc back);
 * a corrupted heap traps */
#define MBEDTLS_PLATFORM_FPRINTF_MACRO(...) 0
#define MBEDTLS_PLATFORM_EXIT_MACRO(code) __builtin_trap()

#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER         /* about 1.5 KB less code */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
/* kept in the bootloaders too: without it they are 0.7 KB smaller, but
 * the generic reduction needs a 4 KiB heap (3 KiB fails), 1 KiB more RAM */
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_NO_INTERNAL_RNG    /* verify handles public data only */
#define MBEDTLS_ECP_WINDOW_SIZE 2      /* RAM over speed, as MCUboot sets it */
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_ECP_MAX_BITS 256
#define MBEDTLS_MPI_MAX_SIZE 32
#define MBEDTLS_MPI_WINDOW_SIZE 1
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C

#include "mbedtls/check_config.h"

#endif
