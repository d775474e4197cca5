/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PKCS#11 key backend: an EC P-256 key pair generated inside a token (a
 * secure element, an HSM, softhsm2 in tests), used through the module's
 * C_* functions loaded with dlopen. The private key is created sensitive and
 * non-extractable, so it never leaves the token; this file never sees it.
 * Not a general PKCS#11 client: one token, one key pair, ECDSA only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "bulwark/core.h"
#include "bwh/identity.h"
#include "bwh/host.h"
#include "identity_priv.h"

#define MODULE_CAP 4096
#define TOKEN_LABEL_LEN 32 /* CK_TOKEN_INFO.label: blank padded, not NUL terminated */
#define OBJECT_CAP 128
#define PIN_CAP 256
#define PIN_FILE_CAP 1024
#define KEY_ID_LEN 16
#define MAX_MODULES 8

/* DER of the OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1): CKA_EC_PARAMS */
static const uint8_t p256_params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

struct p11_ctx {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE session;
    int have_session;
    CK_FLAGS token_flags;
    int logged_in;
    int login_failed; /* sticky: never retry a PIN the token refused */
    char login_detail[64]; /* why, repeated by every later operation */
    char module[MODULE_CAP];
    char token[TOKEN_LABEL_LEN + 1];
    char object[OBJECT_CAP];
    char pin[PIN_CAP];
    size_t pin_len;
    int have_pin;
    char detail[256];
    int storage;            /* a storage key URI: wrapped= is allowed */
    char wrapped[MODULE_CAP]; /* where the wrapped storage key lives */
};

/* ---- messages ---------------------------------------------------------- */

static const struct {
    CK_RV rv;
    const char *name;
} ckr_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED"},
};

/* Records "FUNCTION: CKR_NAME" and maps the code to a bw_err. */
static bw_err ck_fail(struct p11_ctx *c, const char *fn, CK_RV rv)
{
    size_t i;

    for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
        if (ckr_names[i].rv == rv)
            break;
    if (i < sizeof(ckr_names) / sizeof(ckr_names[0]))
        snprintf(c->detail, sizeof(c->detail), "%s: %s", fn, ckr_names[i].name);
    else if (rv & CKR_VENDOR_DEFINED)
        snprintf(c->detail, sizeof(c->detail), "%s: CKR_VENDOR_DEFINED+0x%lx", fn,
                 (unsigned long)(rv & ~CKR_VENDOR_DEFINED));
    else
        snprintf(c->detail, sizeof(c->detail), "%s: CKR 0x%lx", fn, (unsigned long)rv);
    return rv == CKR_HOST_MEMORY ? BW_E_NOMEM : BW_E_BACKEND;
}

/* ---- URI ---------------------------------------------------------------- */

/* Percent-decodes src[0..n) into out (cap bytes incl. NUL). Refuses a
 * broken escape, an embedded NUL, an empty value and overlong values. */
static bw_err pct_decode(const char *src, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t i, o = 0;
    unsigned v;
    int k, d;

    if (n == 0)
        return BW_E_INVAL;
    for (i = 0; i < n; i++) {
        if (o + 1 >= cap)
            return BW_E_INVAL;
        if (src[i] != '%') {
            out[o++] = src[i];
            continue;
        }
        if (n - i < 3)
            return BW_E_INVAL;
        v = 0;
        for (k = 1; k <= 2; k++) {
            char ch = src[i + (size_t)k];

            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F')
                d = ch - 'A' + 10;
            else
                return BW_E_INVAL;
            v = v * 16 + (unsigned)d;
        }
        if (v == 0)
            return BW_E_INVAL;
        out[o++] = (char)v;
        i += 2;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return BW_OK;
}

/* Reads the PIN from a file (pin-source), dropping one trailing newline. */
static bw_err read_pin_file(struct p11_ctx *c, const char *src)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    if (!strncmp(src, "file:", 5))
        src += 5;
    rc = bwh_read_file(src, PIN_FILE_CAP, &buf, &len);
    if (rc) {
        snprintf(c->detail, sizeof(c->detail), "pin-source %.200s: %s", src,
                 rc == BW_E_IO ? strerror(errno) : bw_strerror(rc));
        return rc == BW_E_TOOBIG ? BW_E_FORMAT : rc;
    }
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    rc = BW_E_FORMAT;
    if (len == 0 || len >= PIN_CAP || memchr(buf, 0, len))
        goto out;
    memcpy(c->pin, buf, len);
    c->pin[len] = '\0';
    c->pin_len = len;
    c->have_pin = 1;
    rc = BW_OK;
out:
    bw_wipe(buf, len);
    bwh_free(buf);
    return rc;
}

/*
 * Method: RFC 7512 puts token/object in the path (separated by ';') and
 * module-path/pin-value/pin-source in the query (after '?', separated by
 * '&'). bulwark's own form writes them all in the path, with "module" for
 * module-path. Both forms are accepted: every attribute is known by name
 * wherever it appears, may appear once, and anything unknown is refused so
 * that a typo never silently selects another key or token.
 */
static bw_err parse_uri(struct p11_ctx *c, const char *params)
{
    char pin_source[MODULE_CAP], val[MODULE_CAP];
    const char *p = params, *end, *eq;
    int in_query = 0, seen_module = 0, seen_type = 0, seen_ps = 0;
    unsigned part = 1;
    size_t vlen;
    bw_err rc = BW_E_INVAL;

    pin_source[0] = '\0';
    while (*p) {
        end = p + strcspn(p, in_query ? "&" : ";?");
        eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || eq == p) {
            /* the text is not echoed: it may be a mistyped PIN */
            snprintf(c->detail, sizeof(c->detail), "URI part %u is not NAME=VALUE", part);
            goto out;
        }
        part++;
#define IS(name) ((size_t)(eq - p) == strlen(name) && !memcmp(p, name, strlen(name)))
        if (IS("module") || IS("module-path")) {
            if (seen_module++ || pct_decode(eq + 1, (size_t)(end - eq - 1), c->module,
                                            sizeof(c->module), NULL))
                goto bad;
            if (c->module[0] != '/') {
                snprintf(c->detail, sizeof(c->detail), "module must be an absolute path");
                goto out;
            }
        } else if (IS("token")) {
            if (c->token[0] || pct_decode(eq + 1, (size_t)(end - eq - 1), c->token,
                                          sizeof(c->token), NULL))
                goto bad;
        } else if (IS("object")) {
            if (c->object[0] || pct_decode(eq + 1, (size_t)(end - eq - 1), c->object,
                                           sizeof(c->object), NULL))
                goto bad;
        } else if (IS("pin-value")) {
            if (c->have_pin || pct_decode(eq + 1, (size_t)(end - eq - 1), c->pin,
                                          sizeof(c->pin), &c->pin_len))
                goto bad;
            c->have_pin = 1;
        } else if (IS("pin-source")) {
            if (seen_ps++ || pct_decode(eq + 1, (size_t)(end - eq - 1), pin_source,
                                        sizeof(pin_source), NULL))
                goto bad;
        } else if (IS("wrapped") && c->storage) {
            if (c->wrapped[0] || pct_decode(eq + 1, (size_t)(end - eq - 1), c->wrapped,
                                            sizeof(c->wrapped), NULL))
                goto bad;
        } else if (IS("type")) {
            /* the pair is addressed by its label: either half names it */
            if (seen_type++ || pct_decode(eq + 1, (size_t)(end - eq - 1), val, sizeof(val),
                                          &vlen) ||
                (strcmp(val, "private") && strcmp(val, "public")))
                goto bad;
        } else {
            snprintf(c->detail, sizeof(c->detail), "unknown attribute: %.*s",
                     (int)(eq - p > 64 ? 64 : eq - p), p);
            goto out;
        }
#undef IS
        p = end;
        if (*p == '?') {
            if (in_query)
                goto bad;
            in_query = 1;
            p++;
        } else if (*p) {
            p++;
            if (!*p)
                goto bad; /* a trailing separator */
        }
    }
    if (!seen_module || !c->token[0] || !c->object[0]) {
        snprintf(c->detail, sizeof(c->detail), "module, token and object are required");
        goto out;
    }
    if (c->storage && !c->wrapped[0]) {
        snprintf(c->detail, sizeof(c->detail), "a storage key needs wrapped=FILE");
        goto out;
    }
    if (seen_ps && c->have_pin) {
        snprintf(c->detail, sizeof(c->detail), "pin-value and pin-source exclude each other");
        goto out;
    }
    rc = seen_ps ? read_pin_file(c, pin_source) : BW_OK;
    goto out;
bad:
    /* names only: a value may be a PIN */
    snprintf(c->detail, sizeof(c->detail), "malformed or repeated value in URI part %u",
             part - 1);
out:
    bw_wipe(val, sizeof(val));
    return rc;
}

/* ---- module registry ---------------------------------------------------- */

/*
 * Method: C_Initialize and C_Finalize act on the whole process, not on one
 * caller, but a process may hold several device keys on one module (the
 * agent signs tokens and log checkpoints). A small table counts the open
 * contexts per module (identified by its function list, which dlopen of
 * the same library returns again) under one mutex: the first one
 * initializes, the last one finalizes. If the module was initialized by
 * someone else in the process (CKR_CRYPTOKI_ALREADY_INITIALIZED), bulwark
 * never finalizes or logs out for them.
 */
static struct {
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int owns_init;
} modules[MAX_MODULES];
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static bw_err module_acquire(struct p11_ctx *c)
{
    CK_C_INITIALIZE_ARGS args;
    CK_C_GetFunctionList getfl;
    const char *err;
    CK_RV rv;
    size_t i, slot = MAX_MODULES;
    bw_err rc = BW_E_BACKEND;

    c->dl = dlopen(c->module, RTLD_NOW | RTLD_LOCAL);
    if (!c->dl) {
        err = dlerror();
        snprintf(c->detail, sizeof(c->detail), "dlopen: %.200s", err ? err : c->module);
        return BW_E_BACKEND;
    }
    getfl = (CK_C_GetFunctionList)dlsym(c->dl, "C_GetFunctionList");
    if (!getfl) {
        snprintf(c->detail, sizeof(c->detail), "not a PKCS#11 module: %.200s", c->module);
        goto fail;
    }
    rv = getfl(&c->f);
    if (rv != CKR_OK || !c->f) {
        if (rv == CKR_OK)
            rv = CKR_GENERAL_ERROR;
        ck_fail(c, "C_GetFunctionList", rv);
        goto fail;
    }
    pthread_mutex_lock(&modules_lock);
    for (i = 0; i < MAX_MODULES; i++) {
        if (modules[i].refs && modules[i].f == c->f) {
            modules[i].refs++;
            pthread_mutex_unlock(&modules_lock);
            return BW_OK;
        }
        if (!modules[i].refs && slot == MAX_MODULES)
            slot = i;
    }
    if (slot == MAX_MODULES) {
        pthread_mutex_unlock(&modules_lock);
        snprintf(c->detail, sizeof(c->detail), "more than %d PKCS#11 modules open", MAX_MODULES);
        goto fail;
    }
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = c->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        pthread_mutex_unlock(&modules_lock);
        rc = ck_fail(c, "C_Initialize", rv);
        goto fail;
    }
    modules[slot].f = c->f;
    modules[slot].refs = 1;
    modules[slot].owns_init = rv == CKR_OK;
    pthread_mutex_unlock(&modules_lock);
    return BW_OK;
fail:
    c->f = NULL;
    dlclose(c->dl);
    c->dl = NULL;
    return rc;
}

/* Closes the session; the last context on a module logs out and finalizes. */
static void module_release(struct p11_ctx *c)
{
    size_t i;

    if (!c->f)
        return;
    pthread_mutex_lock(&modules_lock);
    for (i = 0; i < MAX_MODULES; i++)
        if (modules[i].refs && modules[i].f == c->f)
            break;
    if (i < MAX_MODULES) {
        int last = modules[i].refs == 1 && modules[i].owns_init;

        /* the login belongs to the process, not to this session */
        if (c->have_session && c->logged_in && last)
            (void)c->f->C_Logout(c->session);
        if (c->have_session)
            (void)c->f->C_CloseSession(c->session);
        if (--modules[i].refs == 0) {
            if (modules[i].owns_init)
                (void)c->f->C_Finalize(NULL);
            modules[i].f = NULL;
        }
    }
    pthread_mutex_unlock(&modules_lock);
    c->have_session = 0;
    c->f = NULL;
    dlclose(c->dl);
    c->dl = NULL;
}

/* ---- token and objects --------------------------------------------------- */

static int label_matches(const CK_UTF8CHAR label[TOKEN_LABEL_LEN], const char *want)
{
    size_t n = strlen(want), i;

    if (n > TOKEN_LABEL_LEN || memcmp(label, want, n))
        return 0;
    for (i = n; i < TOKEN_LABEL_LEN; i++)
        if (label[i] != ' ')
            return 0;
    return 1;
}

/* Finds the one slot whose token carries our label and opens an RW session. */
static bw_err open_session(struct p11_ctx *c)
{
    CK_SLOT_ID *slots = NULL, found = 0;
    CK_TOKEN_INFO ti;
    CK_ULONG n = 0, i;
    CK_FLAGS flags = 0;
    unsigned matches = 0;
    CK_RV rv;
    bw_err rc;

    rv = c->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return ck_fail(c, "C_GetSlotList", rv);
    if (n) {
        slots = bwh_calloc(n, sizeof(*slots));
        if (!slots)
            return BW_E_NOMEM;
        rv = c->f->C_GetSlotList(CK_TRUE, slots, &n);
        if (rv != CKR_OK) {
            rc = ck_fail(c, "C_GetSlotList", rv);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        if (c->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue; /* removed meanwhile: it is not ours then */
        if (label_matches(ti.label, c->token)) {
            matches++;
            found = slots[i];
            flags = ti.flags;
        }
    }
    rc = BW_E_NOTFOUND;
    if (matches == 0) {
        snprintf(c->detail, sizeof(c->detail), "no token labelled '%s' in %.180s", c->token,
                 c->module);
        goto out;
    }
    rc = BW_E_BACKEND;
    if (matches > 1) {
        /* refusing beats signing with a key on the wrong token */
        snprintf(c->detail, sizeof(c->detail), "%u tokens are labelled '%s'", matches, c->token);
        goto out;
    }
    rv = c->f->C_OpenSession(found, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &c->session);
    if (rv != CKR_OK) {
        rc = ck_fail(c, "C_OpenSession", rv);
        goto out;
    }
    c->have_session = 1;
    c->token_flags = flags;
    rc = BW_OK;
out:
    bwh_free(slots);
    return rc;
}

/*
 * Logs in as the user on first need. Done lazily, not in open, so a refused
 * PIN is reported by the operation that needed it, with its CKR_ code in
 * detail. A refused PIN is wiped and never sent again by this context:
 * retrying would only count down the token's PIN attempts.
 */
static bw_err ensure_login(struct p11_ctx *c)
{
    CK_RV rv;

    if (c->logged_in)
        return BW_OK;
    if (c->login_failed) {
        snprintf(c->detail, sizeof(c->detail), "%s (not retried)", c->login_detail);
        return BW_E_BACKEND;
    }
    if (!c->have_pin) {
        if (c->token_flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
            rv = c->f->C_Login(c->session, CKU_USER, NULL, 0);
        } else if (c->token_flags & CKF_LOGIN_REQUIRED) {
            snprintf(c->detail, sizeof(c->detail),
                     "token '%s' needs a PIN: add pin-value= or pin-source=", c->token);
            return BW_E_DENIED;
        } else {
            return BW_OK;
        }
    } else {
        rv = c->f->C_Login(c->session, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, c->pin_len);
    }
    bw_wipe(c->pin, sizeof(c->pin));
    c->pin_len = 0;
    c->have_pin = 0;
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        bw_err rc = ck_fail(c, "C_Login", rv);

        c->login_failed = 1;
        snprintf(c->login_detail, sizeof(c->login_detail), "%.60s", c->detail);
        return rc;
    }
    c->logged_in = 1;
    return BW_OK;
}

/* Up to cap handles of objects of class cls labelled with our object label;
 * *n receives how many were found (at most cap). */
static bw_err find_objects(struct p11_ctx *c, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out,
                           CK_ULONG cap, CK_ULONG *n)
{
    CK_ATTRIBUTE t[2];
    CK_RV rv, rv2;

    t[0].type = CKA_CLASS;
    t[0].pValue = &cls;
    t[0].ulValueLen = sizeof(cls);
    t[1].type = CKA_LABEL;
    t[1].pValue = c->object;
    t[1].ulValueLen = strlen(c->object);
    *n = 0;
    rv = c->f->C_FindObjectsInit(c->session, t, 2);
    if (rv != CKR_OK)
        return ck_fail(c, "C_FindObjectsInit", rv);
    rv = c->f->C_FindObjects(c->session, out, cap, n);
    rv2 = c->f->C_FindObjectsFinal(c->session);
    if (rv != CKR_OK)
        return ck_fail(c, "C_FindObjects", rv);
    if (rv2 != CKR_OK)
        return ck_fail(c, "C_FindObjectsFinal", rv2);
    return BW_OK;
}

static const char *class_name(CK_OBJECT_CLASS cls)
{
    return cls == CKO_PRIVATE_KEY ? "private" : cls == CKO_PUBLIC_KEY ? "public" : "AES";
}

/* The one object of class cls: BW_E_NOTFOUND if none, BW_E_BACKEND if the
 * label is ambiguous (a key chosen at random is not a device identity). */
static bw_err find_one(struct p11_ctx *c, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_HANDLE hs[2];
    CK_ULONG n;
    bw_err rc;

    rc = find_objects(c, cls, hs, 2, &n);
    if (rc)
        return rc;
    if (n == 0) {
        snprintf(c->detail, sizeof(c->detail), "no %s key labelled '%.100s' on token '%s'",
                 class_name(cls), c->object, c->token);
        return BW_E_NOTFOUND;
    }
    if (n > 1) {
        snprintf(c->detail, sizeof(c->detail), "several %s keys labelled '%.100s'",
                 class_name(cls), c->object);
        return BW_E_BACKEND;
    }
    *h = hs[0];
    return BW_OK;
}

/* Destroys every key object carrying our label; *count receives how many. */
static bw_err destroy_all(struct p11_ctx *c, unsigned *count)
{
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
    CK_OBJECT_HANDLE hs[16];
    CK_ULONG n, i;
    size_t k;
    CK_RV rv;
    bw_err rc;

    *count = 0;
    for (k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        do {
            rc = find_objects(c, classes[k], hs, 16, &n);
            if (rc)
                return rc;
            for (i = 0; i < n; i++) {
                rv = c->f->C_DestroyObject(c->session, hs[i]);
                if (rv != CKR_OK)
                    return ck_fail(c, "C_DestroyObject", rv);
                (*count)++;
            }
        } while (n == 16);
    }
    return BW_OK;
}

/* ---- operations ----------------------------------------------------------- */

static void p11_close(void *ctx);

static bw_err p11_open(const char *params, void **out)
{
    struct p11_ctx *c;
    bw_err rc;

    if (!params || !out)
        return BW_E_INVAL;
    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    rc = parse_uri(c, params);
    if (rc)
        goto fail;
    rc = module_acquire(c);
    if (rc)
        goto fail;
    rc = open_session(c);
    if (rc)
        goto fail;
    *out = c;
    return BW_OK;
fail:
    p11_close(c);
    return rc;
}

static bw_err p11_generate(void *ctx, int force)
{
    struct p11_ctx *c = ctx;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE h, pub_h, priv_h;
    CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    uint8_t id[KEY_ID_LEN];
    CK_ULONG lab_len = strlen(c->object);
    unsigned n;
    CK_RV rv;
    bw_err rc;
    CK_ATTRIBUTE pub_t[] = {
        {CKA_CLASS, &pub_cls, sizeof(pub_cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &no, sizeof(no)},
        {CKA_WRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},
        {CKA_EC_PARAMS, (void *)(uintptr_t)p256_params, sizeof(p256_params)},
        {CKA_LABEL, c->object, lab_len},
        {CKA_ID, id, sizeof(id)},
    };
    CK_ATTRIBUTE priv_t[] = {
        {CKA_CLASS, &priv_cls, sizeof(priv_cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        /* a device identity signs and does nothing else */
        {CKA_SIGN, &yes, sizeof(yes)},
        {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},
        {CKA_LABEL, c->object, lab_len},
        {CKA_ID, id, sizeof(id)},
    };

    rc = ensure_login(c);
    if (rc)
        return rc;
    if (!force) {
        /* either half of an old pair blocks a new one */
        CK_ULONG np = 0, nq = 0;

        rc = find_objects(c, CKO_PRIVATE_KEY, &h, 1, &np);
        if (!rc)
            rc = find_objects(c, CKO_PUBLIC_KEY, &h, 1, &nq);
        if (rc)
            return rc;
        if (np || nq) {
            snprintf(c->detail, sizeof(c->detail), "a key labelled '%.100s' exists on '%s'",
                     c->object, c->token);
            return BW_E_EXISTS;
        }
    } else {
        rc = destroy_all(c, &n);
        if (rc)
            return rc;
    }
    /* CKA_ID ties the two halves together for tools that pair by id */
    rc = bw_random(id, sizeof(id));
    if (rc)
        return rc;
    rv = c->f->C_GenerateKeyPair(c->session, &mech, pub_t, sizeof(pub_t) / sizeof(pub_t[0]),
                                 priv_t, sizeof(priv_t) / sizeof(priv_t[0]), &pub_h, &priv_h);
    if (rv != CKR_OK)
        return ck_fail(c, "C_GenerateKeyPair", rv);
    c->detail[0] = '\0';
    return BW_OK;
}

/* The public point of a public key object, checked to be on P-256. */
static bw_err read_public(struct p11_ctx *c, uint8_t pub[BW_P256_PUB_LEN])
{
    uint8_t params[32], point[80];
    const uint8_t *pt = point;
    struct bw_ec_key k;
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE t[2];
    CK_RV rv;
    bw_err rc;

    rc = find_one(c, CKO_PUBLIC_KEY, &h);
    if (rc == BW_E_NOTFOUND && !c->logged_in && (c->have_pin || (c->token_flags &
                                                                  CKF_PROTECTED_AUTHENTICATION_PATH))) {
        /* some tokens keep public keys private too: look again logged in */
        rc = ensure_login(c);
        if (!rc)
            rc = find_one(c, CKO_PUBLIC_KEY, &h);
    }
    if (rc)
        return rc;
    t[0].type = CKA_EC_PARAMS;
    t[0].pValue = params;
    t[0].ulValueLen = sizeof(params);
    t[1].type = CKA_EC_POINT;
    t[1].pValue = point;
    t[1].ulValueLen = sizeof(point);
    rv = c->f->C_GetAttributeValue(c->session, h, t, 2);
    if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID) {
        snprintf(c->detail, sizeof(c->detail), "key '%.100s' is not an EC P-256 key", c->object);
        return BW_E_KEY;
    }
    if (rv != CKR_OK)
        return ck_fail(c, "C_GetAttributeValue", rv);
    if (t[0].ulValueLen != sizeof(p256_params) ||
        memcmp(params, p256_params, sizeof(p256_params))) {
        snprintf(c->detail, sizeof(c->detail), "key '%.100s' is not on curve P-256", c->object);
        return BW_E_KEY;
    }
    /* PKCS#11 2.40 wants the point DER-wrapped in an OCTET STRING (04 41 ..);
     * some modules hand out the bare point */
    if (t[1].ulValueLen == BW_P256_PUB_LEN + 2 && point[0] == 0x04 &&
        point[1] == BW_P256_PUB_LEN) {
        pt = point + 2;
    } else if (t[1].ulValueLen != BW_P256_PUB_LEN) {
        snprintf(c->detail, sizeof(c->detail), "CKA_EC_POINT of '%.100s' has %lu bytes",
                 c->object, (unsigned long)t[1].ulValueLen);
        return BW_E_KEY;
    }
    bw_ec_key_init(&k);
    rc = bw_ec_set_pub(&k, pt, BW_P256_PUB_LEN);
    bw_ec_key_clear(&k);
    if (rc) {
        snprintf(c->detail, sizeof(c->detail), "CKA_EC_POINT of '%.100s' is not on P-256",
                 c->object);
        return BW_E_KEY;
    }
    memcpy(pub, pt, BW_P256_PUB_LEN);
    return BW_OK;
}

static bw_err p11_public(void *ctx, uint8_t pub[BW_P256_PUB_LEN])
{
    return read_public(ctx, pub);
}

/*
 * Method: the token signs the hash with CKM_ECDSA (raw ECDSA, r||s with
 * each half padded to 32 bytes: the COSE form). Before the signature is
 * handed out it is verified against the key's public object: a fault in
 * the token, or a public object that does not belong to the private one,
 * would otherwise yield signatures that fail far away (or, for ECDSA
 * faults, leak the key) instead of an error here.
 */
static bw_err p11_sign(void *ctx, const uint8_t hash[BW_SHA256_LEN], uint8_t sig[BW_P256_SIG_LEN])
{
    struct p11_ctx *c = ctx;
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    uint8_t pub[BW_P256_PUB_LEN], out[BW_P256_SIG_LEN];
    CK_ULONG out_len = sizeof(out);
    CK_OBJECT_HANDLE h;
    struct bw_ec_key k;
    CK_RV rv;
    bw_err rc;

    bw_ec_key_init(&k);
    rc = ensure_login(c);
    if (rc)
        goto out;
    rc = find_one(c, CKO_PRIVATE_KEY, &h);
    if (rc)
        goto out;
    rc = read_public(c, pub);
    if (rc)
        goto out;
    rc = bw_ec_set_pub(&k, pub, sizeof(pub));
    if (rc)
        goto out;
    rv = c->f->C_SignInit(c->session, &mech, h);
    if (rv != CKR_OK) {
        rc = ck_fail(c, "C_SignInit", rv);
        goto out;
    }
    rv = c->f->C_Sign(c->session, (CK_BYTE_PTR)(uintptr_t)hash, BW_SHA256_LEN, out, &out_len);
    if (rv != CKR_OK) {
        rc = ck_fail(c, "C_Sign", rv);
        goto out;
    }
    rc = BW_E_BACKEND;
    if (out_len != sizeof(out)) {
        snprintf(c->detail, sizeof(c->detail), "C_Sign returned %lu bytes, not 64",
                 (unsigned long)out_len);
        goto out;
    }
    if (bw_ec_verify(&k, hash, out, sizeof(out)) != BW_OK) {
        snprintf(c->detail, sizeof(c->detail),
                 "signature from '%.100s' does not verify under its public key", c->object);
        goto out;
    }
    memcpy(sig, out, sizeof(out));
    rc = BW_OK;
out:
    bw_wipe(out, sizeof(out));
    bw_ec_key_clear(&k);
    return rc;
}

static bw_err p11_export(void *ctx, struct bw_ec_key *out)
{
    struct p11_ctx *c = ctx;

    (void)out;
    snprintf(c->detail, sizeof(c->detail), "the private key never leaves token '%s'", c->token);
    return BW_E_DENIED;
}

static bw_err p11_destroy(void *ctx)
{
    struct p11_ctx *c = ctx;
    unsigned n = 0;
    bw_err rc;

    rc = ensure_login(c);
    if (rc)
        return rc;
    rc = destroy_all(c, &n);
    if (rc)
        return rc;
    if (n == 0) {
        snprintf(c->detail, sizeof(c->detail), "no key labelled '%.100s' on '%s'", c->object,
                 c->token);
        return BW_E_NOTFOUND;
    }
    return BW_OK;
}

static const char *p11_detail(void *ctx)
{
    return ctx ? ((struct p11_ctx *)ctx)->detail : "";
}

static void p11_close(void *ctx)
{
    struct p11_ctx *c = ctx;

    if (!c)
        return;
    module_release(c);
    bw_wipe(c, sizeof(*c));
    bwh_free(c);
}

/* ---- the storage key, wrapped by a token-resident AES key ---------------- */

#define WRAP_MAGIC "BWSKWv1\n"
#define WRAP_MAGIC_LEN 8
#define WRAP_IV_LEN 12
#define WRAP_LEN (WRAP_MAGIC_LEN + WRAP_IV_LEN + BWH_STORAGE_KEY_LEN + BW_GCM_TAG_LEN)

/* A new AES-256 key in the token: sensitive, never extractable, for
 * encrypt/decrypt only. */
static bw_err make_aes(struct p11_ctx *c, CK_OBJECT_HANDLE *h)
{
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
        {CKA_SIGN, &no, sizeof(no)},
        {CKA_WRAP, &no, sizeof(no)},
        {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},
        {CKA_LABEL, c->object, strlen(c->object)},
    };
    CK_RV rv;

    rv = c->f->C_GenerateKey(c->session, &mech, t, sizeof(t) / sizeof(t[0]), h);
    return rv == CKR_OK ? BW_OK : ck_fail(c, "C_GenerateKey", rv);
}

/* AES-256-GCM in the token over in[0..in_len) into out (*out_len: its
 * capacity in, the length out); AAD is the magic, the tag 128 bits. */
static bw_err gcm(struct p11_ctx *c, CK_OBJECT_HANDLE h, int enc, uint8_t iv[WRAP_IV_LEN],
                  const uint8_t *in, CK_ULONG in_len, uint8_t *out, CK_ULONG *out_len)
{
    CK_GCM_PARAMS gp;
    CK_MECHANISM mech;
    CK_RV rv;

    memset(&gp, 0, sizeof(gp));
    gp.iv_ptr = iv;
    gp.iv_len = WRAP_IV_LEN;
    gp.iv_bits = WRAP_IV_LEN * 8;
    gp.aad_ptr = (unsigned char *)(uintptr_t)WRAP_MAGIC;
    gp.aad_len = WRAP_MAGIC_LEN;
    gp.tag_bits = BW_GCM_TAG_LEN * 8;
    mech.mechanism = CKM_AES_GCM;
    mech.pParameter = &gp;
    mech.ulParameterLen = sizeof(gp);
    rv = enc ? c->f->C_EncryptInit(c->session, &mech, h) : c->f->C_DecryptInit(c->session, &mech, h);
    if (rv != CKR_OK)
        return ck_fail(c, enc ? "C_EncryptInit" : "C_DecryptInit", rv);
    rv = enc ? c->f->C_Encrypt(c->session, (CK_BYTE_PTR)(uintptr_t)in, in_len, out, out_len)
             : c->f->C_Decrypt(c->session, (CK_BYTE_PTR)(uintptr_t)in, in_len, out, out_len);
    if (rv != CKR_OK)
        return ck_fail(c, enc ? "C_Encrypt" : "C_Decrypt", rv);
    return BW_OK;
}

/* Wraps a fresh storage key under the token's AES key (made if absent)
 * and publishes it at c->wrapped; a concurrent creator's file wins. */
static bw_err wrap_new(struct p11_ctx *c)
{
    uint8_t blob[WRAP_LEN], key[BWH_STORAGE_KEY_LEN];
    CK_ULONG out_len = BWH_STORAGE_KEY_LEN + BW_GCM_TAG_LEN;
    CK_OBJECT_HANDLE h;
    bw_err rc;

    rc = find_one(c, CKO_SECRET_KEY, &h);
    if (rc == BW_E_NOTFOUND)
        rc = make_aes(c, &h);
    if (rc)
        goto out;
    memcpy(blob, WRAP_MAGIC, WRAP_MAGIC_LEN);
    rc = bw_random(blob + WRAP_MAGIC_LEN, WRAP_IV_LEN);
    if (!rc)
        rc = bw_random(key, sizeof(key));
    if (!rc)
        rc = gcm(c, h, 1, blob + WRAP_MAGIC_LEN, key, sizeof(key),
                 blob + WRAP_MAGIC_LEN + WRAP_IV_LEN, &out_len);
    if (rc)
        goto out;
    rc = BW_E_BACKEND;
    if (out_len != BWH_STORAGE_KEY_LEN + BW_GCM_TAG_LEN) {
        snprintf(c->detail, sizeof(c->detail), "C_Encrypt returned %lu bytes",
                 (unsigned long)out_len);
        goto out;
    }
    rc = bwh__publish_once(c->wrapped, blob, sizeof(blob));
    if (rc == BW_E_EXISTS)
        rc = BW_OK;
    if (rc)
        snprintf(c->detail, sizeof(c->detail), "cannot write %.200s: %s", c->wrapped,
                 strerror(errno));
out:
    bw_wipe(key, sizeof(key));
    return rc;
}

static bw_err unwrap(struct p11_ctx *c, const uint8_t *blob, size_t len,
                     uint8_t key[BWH_STORAGE_KEY_LEN])
{
    uint8_t iv[WRAP_IV_LEN], out[BWH_STORAGE_KEY_LEN + BW_GCM_TAG_LEN];
    CK_ULONG out_len = sizeof(out);
    CK_OBJECT_HANDLE h;
    bw_err rc;

    rc = BW_E_FORMAT;
    if (len != WRAP_LEN || memcmp(blob, WRAP_MAGIC, WRAP_MAGIC_LEN)) {
        snprintf(c->detail, sizeof(c->detail), "%.200s is not a wrapped storage key", c->wrapped);
        goto out;
    }
    rc = find_one(c, CKO_SECRET_KEY, &h);
    if (rc == BW_E_NOTFOUND)
        rc = BW_E_KEY; /* the wrapped key exists: never make a new AES key */
    if (rc)
        goto out;
    memcpy(iv, blob + WRAP_MAGIC_LEN, WRAP_IV_LEN);
    rc = gcm(c, h, 0, iv, blob + WRAP_MAGIC_LEN + WRAP_IV_LEN,
             BWH_STORAGE_KEY_LEN + BW_GCM_TAG_LEN, out, &out_len);
    if (rc) {
        rc = BW_E_KEY; /* a tag that does not verify: another token's key */
        goto out;
    }
    rc = BW_E_KEY;
    if (out_len != BWH_STORAGE_KEY_LEN)
        goto out;
    memcpy(key, out, BWH_STORAGE_KEY_LEN);
    rc = BW_OK;
out:
    bw_wipe(out, sizeof(out));
    return rc;
}

bw_err bwh__pkcs11_storage_key(const char *params, int create, uint8_t key[BWH_STORAGE_KEY_LEN])
{
    struct p11_ctx *c;
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    c->storage = 1;
    rc = parse_uri(c, params);
    if (!rc)
        rc = module_acquire(c);
    if (!rc)
        rc = open_session(c);
    if (!rc)
        rc = ensure_login(c);
    if (rc)
        goto out;
    rc = bwh_read_file(c->wrapped, 1024, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT) {
        rc = BW_E_NOTFOUND;
        if (!create)
            goto out;
        rc = wrap_new(c);
        if (!rc)
            rc = bwh_read_file(c->wrapped, 1024, &buf, &len);
    }
    if (rc) {
        if (!c->detail[0])
            snprintf(c->detail, sizeof(c->detail), "%.200s: %s", c->wrapped, bw_strerror(rc));
        rc = rc == BW_E_TOOBIG ? BW_E_FORMAT : rc;
        goto out;
    }
    rc = unwrap(c, buf, len, key);
out:
    if (rc && rc != BW_E_NOTFOUND && c->detail[0])
        fprintf(stderr, "bulwark: storage key in PKCS#11: %s\n", c->detail);
    if (buf) {
        bw_wipe(buf, len);
        bwh_free(buf);
    }
    p11_close(c);
    return rc;
}

/* "module-path, token 'label'" of a pkcs11: URI, or its parse error. */
bw_err bwh_pkcs11_describe(const char *uri, char *out, size_t cap)
{
    struct p11_ctx *c;
    bw_err rc;

    if (!uri || strncmp(uri, "pkcs11:", 7) || !out || !cap)
        return BW_E_INVAL;
    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    c->storage = strstr(uri, "wrapped=") != NULL;
    rc = parse_uri(c, uri + 7);
    if (rc)
        snprintf(out, cap, "%s", c->detail);
    else
        snprintf(out, cap, "PKCS#11 module %s, token '%s', object '%s'", c->module, c->token,
                 c->object);
    bw_wipe(c, sizeof(*c));
    bwh_free(c);
    return rc;
}

/*
 * The table behind "pkcs11:" URIs (grammar in parse_uri; module must be an
 * absolute path, values may be percent-encoded). Errors, besides those of
 * identity.h:
 *   open     BW_E_INVAL malformed URI or unknown attribute; BW_E_IO /
 *            BW_E_FORMAT unreadable or empty pin-source; BW_E_BACKEND module
 *            not loadable or C_Initialize refused; BW_E_NOTFOUND no token
 *            with that label. The PIN is not checked here (see ensure_login).
 *   generate, sign, destroy  BW_E_BACKEND for any CKR_ error, including a
 *            wrong PIN (detail "C_Login: CKR_PIN_INCORRECT"); BW_E_DENIED if
 *            the token needs a PIN and the URI has none.
 *   public_key  BW_E_KEY if the object is not a P-256 key.
 * One context is one PKCS#11 session: use it from one thread at a time.
 * Distinct contexts are independent, also on the same module and token.
 */
const struct bwh_keystore_ops bwh_keystore_pkcs11 = {
    "pkcs11", p11_open, p11_generate, p11_public, p11_sign, p11_export, p11_destroy,
    p11_detail, p11_close,
};
