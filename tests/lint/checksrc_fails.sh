#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/checksrc can fail: a small tree with one violation of each rule
# (and look-alikes that are not violations) must be refused with each
# file:line and rule named; the allowlist must exempt exactly what it
# names, with a stale row refused; the same tree without the violations
# passes. Usage: checksrc_fails.sh SOURCE_ROOT
set -eu
src=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src/core" "$t/host" "$t/tools" "$t/scripts" "$t/include"
cp "$src/scripts/checksrc" "$src/scripts/arm-build.sh" "$t/scripts/"
fail=0
want() { # want PATTERN: the report has a line matching it
  if ! grep -qE -- "$1" "$t/out"; then echo "FAIL: not reported: $1"; fail=1; fi
}
not() { # not PATTERN: no report line matches it
  if grep -qE -- "$1" "$t/out"; then echo "FAIL: reported, but is no violation: $1"; fail=1; fi
}
refused() { # refused ARGS...: checksrc ARGS "$t" exits 1 (violations); its report in $t/out
  local rc=0
  "$t/scripts/checksrc" "$@" "$t" >"$t/out" 2>&1 || rc=$?
  cat "$t/out"
  [ "$rc" = 1 ] || { echo "FAIL: exit status $rc on a tree with violations, want 1"; fail=1; }
}

cat > "$t/host/a.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
struct ops { void (*free)(void *); };
/* prose may say malloc(3) and free() */
char *a(struct ops *o, const char *s)
{
    char *p = malloc(4);
    o->free(p);
    free(p);
    puts("calloc(1, 2) in a string");
    return strdup(s);
}
EOF
cat > "$t/host/b.c" <<'EOF'
#define TRY(x) do { if (x) return 1; } while (0)
#define GET(k) \
    if (get(k)) \
        goto out
#define SAFE(x) ((x) + 1) /* return in a comment */
#define RETURNS 1
EOF
cat > "$t/tools/c.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int c(const char *s)
{
    int v;

    if (sscanf(s, "%d", &v) != 1)
        return atoi(s);
    return my_atoi(s);
}
EOF
cat > "$t/src/core/core.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int pthread_mutex_lock(void *m);
int core_leaks(void *m)
{
    FILE *f;

    pthread_mutex_lock(m);
    f = fopen("x", "r");
    return f != NULL && malloc(8) != NULL;
}
EOF

refused
want '^host/a\.c:7: raw-alloc\(malloc\)'
want '^host/a\.c:9: raw-alloc\(free\)'
want '^host/a\.c:11: raw-alloc\(strdup\)'
not '^host/a\.c:(3|4|8|10):'
want '^host/b\.c:1: macro-jump\(TRY\): macro TRY hides a return'
want '^host/b\.c:2: macro-jump\(GET\): macro GET hides a goto'
not '^host/b\.c:(5|6):'
want '^tools/c\.c:7: loose-parse\(sscanf\)'
want '^tools/c\.c:8: loose-parse\(atoi\)'
not '^tools/c\.c:9:'
want '^src/core/core\.c:10: raw-alloc\(malloc\)'
if command -v arm-none-eabi-gcc >/dev/null && command -v arm-none-eabi-nm >/dev/null; then
  want '^src/core/core\.c:10: core-symbol\(malloc\): .*\(the heap\)'
  want '^src/core/core\.c:9: core-symbol\(fopen\): .*\(file I/O\)'
  want '^src/core/core\.c:8: core-symbol\(pthread_mutex_lock\): .*\(threads\)'
else
  want 'core-symbol skipped: no arm-none-eabi-gcc'
fi

# The allowlist exempts what it names, and no more; a stale row fails.
cat > "$t/scripts/checksrc.allow" <<'EOF'
[allowed]
host/a.c:raw-alloc(free)   a library's memory released as it says
tools/:loose-parse         a folder as a whole
host/gone.c:raw-alloc      stale: matches nothing
[pending]
host/b.c:macro-jump        pending: another branch
host/later.c:raw-alloc     pending: already fixed
EOF
refused --no-arm
want '^host/a\.c:7: raw-alloc\(malloc\)'
not '^host/a\.c:9:'
not '^(tools/c\.c|host/b\.c):'
want 'host/gone\.c:raw-alloc matches nothing: remove it'
want '^note: .*host/later\.c:raw-alloc matches nothing'

# Without the violations the same tree passes.
rm "$t/scripts/checksrc.allow"
cat > "$t/host/a.c" <<'EOF'
/* prose may say malloc(3) */
struct ops { void (*free)(void *); };
void a(struct ops *o, void *p) { o->free(p); }
EOF
sed -i '1,4d' "$t/host/b.c"
cat > "$t/tools/c.c" <<'EOF'
int my_atoi(const char *s);
int c(const char *s) { return my_atoi(s); }
EOF
cat > "$t/src/core/core.c" <<'EOF'
int core_clean(int x);
int core_clean(int x) { return x + 1; }
EOF
if ! "$t/scripts/checksrc" "$t" >"$t/out" 2>&1; then
  cat "$t/out"
  echo "FAIL: the clean tree was refused"
  fail=1
fi
cat "$t/out"
[ "$fail" = 0 ] && echo "checksrc refuses each rule and passes a clean tree"
exit "$fail"
