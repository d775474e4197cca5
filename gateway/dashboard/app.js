// SPDX-License-Identifier: Apache-2.0
// The fleet dashboard: a client of the gateway's operator API
// (docs/gateway.md) with the operator's own bearer token and role.
// Device-supplied text (attributes, feedback, versions) is hostile: it is
// only ever placed with textContent or as a text node, never parsed as
// HTML, and links are built from encodeURIComponent'd ids.
'use strict';

const ROLES = { none: 0, viewer: 1, 'release-manager': 2, admin: 3 };
const STATES = ['scheduled', 'offered', 'running', 'success', 'failure', 'cancelled'];
const REFRESH_MS = 5000;
const MAX_ROWS = 1000;    // fleet rows drawn at once

let token = sessionStorage.getItem('bulwark-token') || '';
let me = null;            // {name, role}
let timer = null;
let releasesById = new Map();
let campaignsById = new Map();

const $ = (id) => document.getElementById(id);

// el('td', {class: 'x'}, 'text', otherNode): strings become text nodes
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, String(v));
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(typeof k === 'string' || typeof k === 'number' ? document.createTextNode(String(k)) : k);
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function showError(msg) {
  const p = $('error');
  p.textContent = msg || '';
  p.hidden = !msg;
}

function utc(t) {
  if (!t) return 'never';
  return new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 120) return s + ' s ago';
  if (s < 7200) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
  const opt = { method, headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch('/api/v1/' + path, opt);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) {
    if (r.status === 401) signOut('The token was refused; sign in again.');
    throw new ApiError(r.status, (j && j.message) || ('HTTP ' + r.status));
  }
  return j;
}

function can(role) {
  return me && ROLES[me.role] >= ROLES[role];
}

// ---- sign in ------------------------------------------------------------------

async function signIn(t) {
  token = t;
  try {
    me = await api('GET', 'whoami');
  } catch (e) {
    token = '';
    me = null;
    sessionStorage.removeItem('bulwark-token');
    showError(e.status === 401 ? 'That token is not known to this gateway.' : e.message);
    return;
  }
  sessionStorage.setItem('bulwark-token', token);
  showError('');
  $('who').textContent = me.name + ' (' + me.role + ')';
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  if (!location.hash) location.hash = '#fleet';
  else route();
}

function signOut(why) {
  token = '';
  me = null;
  sessionStorage.removeItem('bulwark-token');
  if (timer) clearTimeout(timer);
  for (const s of document.querySelectorAll('main > section')) s.hidden = true;
  $('login').hidden = false;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  showError(why || '');
}

// ---- views ---------------------------------------------------------------------

function show(name) {
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== 'view-' + name;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('current', a.id === 'nav-' + name);
}

async function route() {
  if (!me) return;
  if (timer) clearTimeout(timer);
  const h = location.hash.slice(1);
  try {
    if (h.startsWith('device/')) {
      show('device');
      await viewDevice(decodeURIComponent(h.slice(7)));
    } else if (h === 'releases') {
      show('releases');
      await viewReleases();
    } else if (h === 'campaigns') {
      show('campaigns');
      await viewCampaigns();
    } else if (h === 'audit') {
      show('audit');
      await viewAudit();
    } else {
      show('fleet');
      await viewFleet();
    }
    showError('');
  } catch (e) {
    if (me) showError(e.message);
  }
  if (me) timer = setTimeout(route, REFRESH_MS);
}

// fleet ---------------------------------------------------------------------------

let fleet = [];

function attrText(a) {
  return Object.entries(a || {}).map(([k, v]) => k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
}

// Every device, a page of 10,000 at a time (the API answers one page per
// request), until a page comes back short.
async function allDevices() {
  const all = [];
  for (let off = 0; ; off += 10000) {
    const page = await api('GET', 'devices?offset=' + off + '&limit=10000');
    for (const d of page) all.push(d);
    if (page.length < 10000) return all;
  }
}

async function viewFleet() {
  fleet = await allDevices();
  const sel = $('f-version'), want = sel.value;
  const versions = [...new Set(fleet.map((d) => d.version).filter((v) => v))].sort();
  clear(sel);
  sel.append(el('option', { value: '' }, 'any version'));
  for (const v of versions) sel.append(el('option', { value: v }, v));
  sel.value = versions.includes(want) ? want : '';
  renderFleet();
}

function renderFleet() {
  const q = $('search').value.trim().toLowerCase();
  const st = $('f-status').value, ver = $('f-version').value;
  const tb = $('fleet').tBodies[0];
  clear(tb);
  let n = 0;
  for (const d of fleet) {
    const attrs = attrText(d.attributes);
    if (st && d.status !== st) continue;
    if (ver && d.version !== ver) continue;
    if (q && !(d.id + ' ' + d.version + ' ' + attrs).toLowerCase().includes(q)) continue;
    if (++n > MAX_ROWS) continue; // counted, not drawn: a large fleet stays responsive
    tb.append(el('tr', { 'data-id': d.id },
      el('td', {}, el('a', { href: '#device/' + encodeURIComponent(d.id) }, d.id)),
      el('td', {}, el('span', { class: 'status ' + d.status }, d.status)),
      el('td', {}, d.version || '—'),
      el('td', {}, d.sequence === null ? '—' : String(d.sequence)),
      el('td', { title: utc(d.last_seen) }, ago(d.last_seen)),
      el('td', { class: 'attrs' }, attrs)));
  }
  $('fleet-count').textContent = n + ' of ' + fleet.length + ' devices' +
    (n > MAX_ROWS ? ' (the first ' + MAX_ROWS + ' shown: narrow the search)' : '');
}

// device ---------------------------------------------------------------------------

function dl(node, rows) {
  clear(node);
  for (const [k, v] of rows) node.append(el('dt', {}, k), el('dd', {}, v));
}

async function refreshNames() {
  const [rels, camps] = await Promise.all([api('GET', 'releases'), api('GET', 'campaigns')]);
  releasesById = new Map(rels.map((r) => [r.id, r]));
  campaignsById = new Map(camps.map((c) => [c.id, c]));
  return [rels, camps];
}

async function setStatus(id, status) {
  if (status !== 'accepted' && !confirm('Set device ' + id + ' to ' + status + '? It will get no updates.'))
    return;
  try {
    await api('POST', 'devices/' + encodeURIComponent(id) + '/status', { status });
  } catch (e) {
    showError(e.message);
  }
  route();
}

async function viewDevice(id) {
  const path = 'devices/' + encodeURIComponent(id);
  const [d, hist] = await Promise.all([api('GET', path), api('GET', path + '/actions'), refreshNames()]);
  $('dev-title').textContent = 'Device ' + d.id;
  dl($('dev-identity'), [['id', d.id], ['status', d.status], ['certificate SHA-256', d.fingerprint_sha256],
    ['certificate serial', d.serial], ['registered', utc(d.created)], ['last seen', utc(d.last_seen)]]);
  dl($('dev-software'), [['version', d.version || 'not reported'],
    ['sequence', d.sequence === null ? 'not reported' : String(d.sequence)]]);
  const comp = Object.entries(d.attributes || {}).filter(([k]) => /^compliance([._-]|$)/.test(k));
  dl($('dev-compliance'), comp.length ? comp.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])
    : [['state', 'not reported by the device']]);
  const admin = $('dev-admin');
  clear(admin);
  admin.hidden = !can('admin');
  for (const s of can('admin') ? ['accepted', 'rejected', 'revoked'] : [])
    if (s !== d.status)
      admin.append(el('button', { type: 'button', 'data-status': s, onclick: () => setStatus(d.id, s) },
        s === 'accepted' ? 'Accept' : s === 'rejected' ? 'Reject' : 'Revoke'));
  const at = $('dev-attrs').tBodies[0];
  clear(at);
  for (const [k, v] of Object.entries(d.attributes || {}))
    at.append(el('tr', {}, el('td', {}, k), el('td', {}, typeof v === 'string' ? v : JSON.stringify(v))));
  const ht = $('dev-history').tBodies[0];
  clear(ht);
  for (const a of hist) {
    const c = campaignsById.get(a.campaign_id), r = releasesById.get(a.release_id);
    ht.append(el('tr', {},
      el('td', {}, String(a.id)),
      el('td', {}, c ? c.name : '#' + a.campaign_id),
      el('td', {}, r ? r.name : '#' + a.release_id),
      el('td', {}, el('span', { class: 'state ' + a.state }, a.state),
        a.waiting_for ? el('span', { class: 'waiting' }, ' waiting: ' + WAIT_TEXT[a.waiting_for]) : null),
      el('td', {}, utc(a.updated)),
      el('td', {}, a.feedback ? el('pre', { class: 'feedback' }, a.feedback) : '')));
  }
  if (!hist.length) ht.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no actions yet')));
  // the operator's word on the device's open action: install now, override its update lock
  const open = hist.find((a) => a.state === 'scheduled' || a.state === 'offered' || a.state === 'running');
  const say = $('dev-say');
  clear(say);
  say.hidden = !(open && can('release-manager'));
  if (open && can('release-manager')) {
    if (open.install === 'later')
      say.append(el('button', { type: 'button', 'data-do': 'install', onclick: () => deviceWord(d.id, 'install') }, 'Install now'));
    if (!open.lock_override)
      say.append(el('button', { type: 'button', 'data-do': 'override-lock', onclick: () => deviceWord(d.id, 'override-lock') }, 'Override update lock'));
  }
}

async function deviceWord(id, what) {
  try {
    await api('POST', 'devices/' + encodeURIComponent(id) + '/' + what);
  } catch (e) {
    showError(e.message);
    return;
  }
  route();
}

// releases ---------------------------------------------------------------------------

async function viewReleases() {
  const [rels] = await refreshNames();
  const tb = $('releases').tBodies[0];
  clear(tb);
  for (const r of rels)
    tb.append(el('tr', {},
      el('td', {}, String(r.id)), el('td', {}, r.name), el('td', {}, r.kind),
      el('td', {}, String(r.sequence)), el('td', {}, bytes(r.size)),
      el('td', { class: 'hash', title: r.sha256 }, r.sha256.slice(0, 16) + '…'),
      el('td', {}, r.uploaded_by), el('td', {}, utc(r.created))));
}

// campaigns ---------------------------------------------------------------------------

async function campaignAction(c, what) {
  if (what === 'cancel' && !confirm('Cancel campaign ' + c.name + '? Devices that have not started will not update.'))
    return;
  try {
    await api('POST', 'campaigns/' + c.id + '/' + what);
  } catch (e) {
    showError(e.message);
    return;
  }
  route();
}

// what a device waits for (the registry's hold), as words
const WAIT_TEXT = { 'install-later': 'install later', locked: 'update lock held', consent: 'consent' };

// a campaign's state as words; the API's name stays the CSS class
const CSTATE_TEXT = { rolled_back: 'rolled back', cannot_complete: 'cannot complete' };

function batchText(c, total) {
  if (c.ramp_base)
    return 'ramp: batches of ' + c.ramp_base + ', each \u00d7' + c.ramp_factor + ' (next when ' +
      c.success_threshold + ' % ' + c.ramp_on + '), batch ' + (c.current_batch + 1) + ' released';
  const n = Math.max(1, Math.ceil(total / c.batch_size));
  if (n === 1) return 'one batch';
  if (c.current_batch >= n - 1) return 'all ' + n + ' batches of ' + c.batch_size + ' released';
  return 'batch ' + (c.current_batch + 1) + ' of ' + n + ' (' + c.batch_size + ' devices each)';
}

async function viewCampaigns() {
  const [, camps] = await refreshNames();
  const box = $('campaigns');
  clear(box);
  if (!camps.length) box.append(el('p', { class: 'muted' }, 'No campaigns yet.'));
  for (const c of camps) {
    const k = c.actions, total = STATES.reduce((s, n) => s + k[n], 0);
    const bar = el('div', { class: 'bar', title: STATES.map((n) => n + ' ' + k[n]).join(', ') });
    for (const n of STATES) {
      if (!k[n]) continue;
      const seg = el('span', { class: 'seg ' + n });
      seg.style.width = (100 * k[n] / total).toFixed(2) + '%';
      bar.append(seg);
    }
    const counts = el('ul', { class: 'counts' });
    for (const n of STATES) counts.append(el('li', { class: n }, n + ' ', el('b', {}, String(k[n]))));
    const buttons = el('div', { class: 'buttons' });
    if (can('release-manager')) {
      if (c.state === 'running') buttons.append(el('button', { type: 'button', 'data-do': 'pause', onclick: () => campaignAction(c, 'pause') }, 'Pause'));
      if (c.state === 'paused') buttons.append(el('button', { type: 'button', 'data-do': 'resume', onclick: () => campaignAction(c, 'resume') }, 'Resume'));
      if (c.install_later && (c.state === 'running' || c.state === 'paused'))
        buttons.append(el('button', { type: 'button', 'data-do': 'install', onclick: () => campaignAction(c, 'install') }, 'Install now'));
      if (c.state === 'running' || c.state === 'paused')
        buttons.append(el('button', { type: 'button', class: 'danger', 'data-do': 'cancel', onclick: () => campaignAction(c, 'cancel') }, 'Cancel'));
    }
    const r = releasesById.get(c.release_id);
    const done = k.success + k.failure + k.cancelled;
    // the guard rails, as text
    const rails = [];
    if (c.abort_failure_pct) {
      const rb = c.rollback_release ? releasesById.get(c.rollback_release) : null;
      rails.push('abort at ' + c.abort_failure_pct + ' % failed (' + c.abort_on.join(', ') +
        ') once ' + c.abort_min_executed + ' executed' +
        (c.rollback_release ? ', then roll back to ' + (rb ? rb.name : '#' + c.rollback_release) : ''));
    }
    if (c.dynamic) rails.push('dynamic: devices that match later join');
    if (c.priority) rails.push('priority ' + c.priority);
    if (c.rollback_of) rails.push('rollback of campaign #' + c.rollback_of);
    if (c.rollback_campaign) rails.push('rolled back by campaign #' + c.rollback_campaign);
    if (c.install_later)
      rails.push('download now, install on the trigger' + (c.window_start !== undefined ? ' or in the window' : ''));
    if (c.consent) rails.push('each device asks its user for consent');
    // the devices' say: what the open actions wait for
    const waits = Object.entries(c.waiting || {}).filter(([, n]) => n)
      .map(([w, n]) => n + ' ' + WAIT_TEXT[w]);
    // what a device fetches (docs/delta.md): the full package, or the
    // predicted bytes of a delta for the release it runs; the full
    // package while the gateway's build of that delta is not ready
    const tr = c.transfer, wire = tr && tr.by_source.length ? tr.by_source.map((d) => {
      const s = releasesById.get(d.source_release);
      const from = 'from ' + (s ? s.name : '#' + d.source_release) + ' (sequence ' +
        d.source_sequence + ') ';
      return d.status && d.status !== 'ready'
        ? from + bytes(tr.full) + ' (delta ' + d.status + (d.error ? ': ' + d.error : '') + ')'
        : from + bytes(d.predicted) + ' by delta';
    }).concat(['from any other release ' + bytes(tr.full)]) : [];
    box.append(el('article', { class: 'campaign', 'data-id': c.id },
      el('h2', {}, c.name, ' ', el('span', { class: 'cstate ' + c.state }, CSTATE_TEXT[c.state] || c.state)),
      el('p', { class: 'muted' }, 'release ', r ? r.name : '#' + c.release_id, ' · ', c.type,
        ' · ', batchText(c, total),
        ' · filter ', JSON.stringify(c.filter), ' · started ', utc(c.created)),
      rails.length ? el('p', { class: 'rails' }, rails.join(' · ')) : null,
      c.reason ? el('p', { class: 'reason' }, c.reason) : null,
      waits.length ? el('p', { class: 'waiting' }, 'devices waiting: ' + waits.join(' · ')) : null,
      wire.length ? el('p', { class: 'transfer' }, 'bytes per device: ' + wire.join(' · ')) : null,
      bar,
      el('p', {}, String(done), ' of ', String(total), ' devices finished'),
      counts, buttons));
  }
}

// audit ---------------------------------------------------------------------------

async function viewAudit() {
  const rows = await api('GET', 'audit?limit=500'); // the newest, newest first
  const tb = $('audit').tBodies[0];
  clear(tb);
  for (const a of rows)
    tb.append(el('tr', {}, el('td', {}, String(a.id)), el('td', {}, utc(a.time)), el('td', {}, a.actor),
      el('td', {}, a.action), el('td', {}, a.object), el('td', {}, a.detail)));
}

// ---- wiring ----------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    signIn(t);
  });
  $('logout').addEventListener('click', () => signOut(''));
  for (const id of ['search', 'f-status', 'f-version']) $(id).addEventListener('input', renderFleet);
  window.addEventListener('hashchange', route);
  if (token) signIn(token);
});
