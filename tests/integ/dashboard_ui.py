# SPDX-License-Identifier: Apache-2.0
"""Drives the gateway's dashboard in headless Chromium (cdp.py) for
dashboard.sh, which has set up the fleet: three devices, dev-000001 with
hostile attributes and feedback, a release and campaign with markup in
their names, one rejected device. Checks what an operator sees and does,
and what the registry holds afterwards; then a campaign with guard rails,
which the campaign view states as text.

Usage: dashboard_ui.py CHROMIUM PROFILE URL REGISTRY.db VIEWER RELEASE ADMIN [SHOTS-DIR]
"""
import json
import sqlite3
import sys
import time

from cdp import Chrome

exe, profile, url, dbpath, tok_viewer, tok_release, tok_admin = sys.argv[1:8]
shots = sys.argv[8] if len(sys.argv) > 8 else None
fails = 0
passes = 0


def check(cond, what):
    global fails, passes
    if cond:
        passes += 1
    else:
        fails += 1
        print("FAIL: " + what, file=sys.stderr)


def registry(sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


HOSTILE_JS = "window.__pwned"
c = Chrome(exe, profile)
try:
    c.open(url + "/dashboard/")
    check(c.js("!document.getElementById('login').hidden"), "sign-in form not shown")

    def sign_in(tok):
        c.js("document.getElementById('token').value = %s;"
             " document.getElementById('login-form').requestSubmit(); true" % json.dumps(tok))

    # a wrong token: an error, still signed out
    sign_in("not-a-token")
    c.wait("!document.getElementById('error').hidden")
    check("not known" in c.js("document.getElementById('error').textContent"),
          "wrong token: " + c.js("document.getElementById('error').textContent"))
    check(c.js("document.getElementById('nav').hidden"), "navigation shown for a wrong token")

    # the viewer: the fleet table
    sign_in(tok_viewer)
    c.wait("document.querySelectorAll('#fleet tbody tr').length === 3")
    check(c.js("document.getElementById('who').textContent") == "op-viewer (viewer)",
          "who: " + c.js("document.getElementById('who').textContent"))
    attrs = c.js("document.querySelector('#fleet tr[data-id=\"dev-000001\"] td.attrs').textContent")
    check("<script>window.__pwned=1</script>" in attrs and "<img src=x" in attrs,
          "hostile attribute not shown as text: %r" % attrs)
    check(c.js("typeof %s === 'undefined'" % HOSTILE_JS), "device text ran as script")
    check(c.js("document.scripts.length") == 1, "scripts in the page: %s" % c.js("document.scripts.length"))
    check(c.js("document.querySelectorAll('img, iframe, object, svg').length") == 0,
          "device markup became elements")
    # search and filters
    c.js("{ const s = document.getElementById('search'); s.value = 'SN-2';"
         " s.dispatchEvent(new Event('input')); true }")
    check(c.js("[...document.querySelectorAll('#fleet tbody tr')].map(r => r.dataset.id).join()") == "dev-000002",
          "search by attribute")
    c.js("{ const s = document.getElementById('search'); s.value = '';"
         " s.dispatchEvent(new Event('input'));"
         " const f = document.getElementById('f-status'); f.value = 'rejected';"
         " f.dispatchEvent(new Event('input')); true }")
    check(c.js("[...document.querySelectorAll('#fleet tbody tr')].map(r => r.dataset.id).join()") == "dev-000003",
          "status filter")
    c.js("{ const f = document.getElementById('f-status'); f.value = '';"
         " f.dispatchEvent(new Event('input')); true }")
    if shots:
        c.screenshot(shots + "/dashboard-fleet.png")

    # device detail: history with the hostile feedback, compliance, no admin buttons
    c.goto(url + "/dashboard/#device/dev-000001")
    c.wait("document.querySelectorAll('#dev-history tbody tr').length >= 1 &&"
           " document.getElementById('dev-title').textContent === 'Device dev-000001'")
    fb = c.js("document.querySelector('#dev-history pre.feedback').textContent")
    check("<img src=x onerror=window.__pwned=3>" in fb, "feedback not shown as text: %r" % fb)
    check(c.js("document.querySelector('#dev-history tbody td:nth-child(3)').textContent") == "fw <i>2</i>",
          "release name in history")
    check(c.js("typeof %s === 'undefined'" % HOSTILE_JS), "feedback ran as script")
    comp = c.js("document.getElementById('dev-compliance').textContent")
    check("SoA 41/43 met" in comp, "compliance state: %r" % comp)
    check(c.js("document.getElementById('dev-admin').hidden"), "admin buttons shown to a viewer")
    if shots:
        c.screenshot(shots + "/dashboard-device.png")

    # campaigns: a viewer sees the counts but no buttons
    c.goto(url + "/dashboard/#campaigns")
    c.wait("document.querySelectorAll('#campaigns article').length === 1")
    check(c.js("document.querySelector('#campaigns h2').firstChild.textContent") == "<b>roll</b> out",
          "campaign name as text")
    check(c.js("document.querySelectorAll('#campaigns button').length") == 0, "viewer has campaign buttons")
    counts = c.js("[...document.querySelectorAll('#campaigns .counts li')].map(l => l.textContent).join()")
    check(counts == "scheduled 1,offered 0,running 1,success 0,failure 0,cancelled 0",
          "campaign counts: %s" % counts)

    # the release manager pauses and resumes it; the registry follows
    c.js("document.getElementById('logout').click(); true")
    c.wait("!document.getElementById('login').hidden")
    sign_in(tok_release)
    c.goto(url + "/dashboard/#campaigns")
    c.wait("document.querySelector('#campaigns button[data-do=pause]')")
    check(registry("SELECT state FROM campaigns") == [(0,)], "campaign not running before the pause")
    c.js("document.querySelector('#campaigns button[data-do=pause]').click(); true")
    c.wait("document.querySelector('#campaigns .cstate').textContent === 'paused'")
    check(registry("SELECT state FROM campaigns") == [(1,)],
          "registry after pause: %s" % registry("SELECT state FROM campaigns"))
    check(registry("SELECT actor, action FROM audit WHERE action LIKE 'campaign.%' ORDER BY id DESC LIMIT 1")
          == [("op-release-manager", "campaign.pause")], "pause not in the audit log")
    if shots:
        c.screenshot(shots + "/dashboard-campaigns.png")
    c.js("document.querySelector('#campaigns button[data-do=resume]').click(); true")
    c.wait("document.querySelector('#campaigns .cstate').textContent === 'running'")
    check(registry("SELECT state FROM campaigns") == [(0,)], "registry after resume")
    # cancel asks first (the dialog is accepted by cdp.py)
    c.js("document.querySelector('#campaigns button[data-do=cancel]').click(); true")
    c.wait("document.querySelector('#campaigns .cstate').textContent === 'cancelled'")
    check(len(c.dialogs) == 1 and "Cancel campaign" in c.dialogs[0], "no confirmation: %s" % c.dialogs)
    check(registry("SELECT state FROM campaigns") == [(2,)], "registry after cancel")
    check(registry("SELECT device_id, state FROM actions ORDER BY device_id")
          == [("dev-000001", 2), ("dev-000002", 5)],
          "actions after cancel: %s" % registry("SELECT device_id, state FROM actions"))

    # the audit view lists it, newest first
    c.goto(url + "/dashboard/#audit")
    c.wait("document.querySelectorAll('#audit tbody tr').length >= 4")
    first = c.js("[...document.querySelector('#audit tbody tr').cells].map(c => c.textContent).slice(2, 4).join()")
    check(first == "op-release-manager,campaign.cancel", "newest audit row: %s" % first)

    # a campaign with guard rails: the view says them, as text
    rid = registry("SELECT id FROM releases")[0][0]
    body = json.dumps({"name": "guarded <i>", "release_id": rid, "filter": {"group": "nobody"},
                       "dynamic": True, "priority": 3, "abort_failure_pct": 20,
                       "abort_min_executed": 5, "abort_on": ["health-check"]})
    st = c.js("fetch('/api/v1/campaigns', {method: 'POST', headers: {'Authorization': 'Bearer %s',"
              " 'Content-Type': 'application/json'}, body: %s}).then(r => r.status)"
              % (tok_release, json.dumps(body)))
    check(st == 201, "guarded campaign: HTTP %s" % st)
    c.goto(url + "/dashboard/#campaigns")
    c.wait("document.querySelectorAll('#campaigns article').length === 2")
    rails = c.js("document.querySelector('#campaigns article .rails').textContent")
    check(rails == "abort at 20 % failed (health-check) once 5 executed · dynamic: devices that"
          " match later join · priority 3", "guard rails: %r" % rails)
    check(c.js("document.querySelector('#campaigns article h2').firstChild.textContent") == "guarded <i>"
          and c.js("document.querySelector('#view-campaigns .help').textContent").find("rolled back") >= 0,
          "guarded campaign name, help text")
    # the device's say: install later with a window, consent; its Install now button
    body = json.dumps({"name": "later", "release_id": rid, "filter": {"group": "nobody"},
                       "install_later": True, "consent": True, "window": [3600, 7200],
                       "dynamic": True})
    st = c.js("fetch('/api/v1/campaigns', {method: 'POST', headers: {'Authorization': 'Bearer %s',"
              " 'Content-Type': 'application/json'}, body: %s}).then(r => r.status)"
              % (tok_release, json.dumps(body)))
    check(st == 201, "install-later campaign: HTTP %s" % st)
    c.goto(url + "/dashboard/#audit")
    c.goto(url + "/dashboard/#campaigns")
    c.wait("document.querySelectorAll('#campaigns article').length === 3")
    rails = c.js("document.querySelector('#campaigns article .rails').textContent")
    check(rails == "dynamic: devices that match later join · download now, install on the trigger"
          " or in the window · each device asks its user for consent", "the device's say: %r" % rails)
    check(c.js("!!document.querySelector('#campaigns article button[data-do=install]')"),
          "no Install now button")

    # an admin rejects a device from its page
    c.js("document.getElementById('logout').click(); true")
    sign_in(tok_admin)
    c.goto(url + "/dashboard/#device/dev-000002")
    c.wait("document.getElementById('dev-title').textContent === 'Device dev-000002' &&"
           " document.querySelector('#dev-admin button[data-status=revoked]')")
    c.js("document.querySelector('#dev-admin button[data-status=revoked]').click(); true")
    c.wait("document.querySelector('#dev-identity').textContent.includes('revoked')")
    check(registry("SELECT status FROM devices WHERE id = 'dev-000002'") == [(3,)], "revoke not stored")
    check(len(c.dialogs) == 2 and "revoked" in c.dialogs[1], "no confirmation: %s" % c.dialogs)

    # the policy holds: an inline script injected into the page does not run
    c.js("{ const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
         " document.body.append(s); true }")
    time.sleep(0.2)
    check(c.js("typeof window.__inline === 'undefined'"), "inline script ran despite the CSP")
    check(c.js("typeof %s === 'undefined'" % HOSTILE_JS), "device text ran as script at the end")
finally:
    c.close()

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
