// End-to-end: accounts and the origin policy (docs/protocol.md, *Authentication* and *Browsers
// and origins*) as a real browser sees them. Debian's Chromium, driven by playwright-core, talks
// to `parley serve --auth password` (and `--auth open` for the file:// case), each server on a
// free port (`--listen 127.0.0.1:0`, the port read from its "listening on" line) with its own
// temporary --data-dir. Port 2346 belongs to seed_page.test.mjs and is never used here.
//
//   cd tests/e2e && npm ci && PARLEY_BINARY=../../build/release/parley node --test
//
// Environment: PARLEY_BINARY (default build/release/parley), PARLEY_CHROMIUM (default
// /usr/bin/chromium), PARLEY_E2E_ARTIFACTS (where screenshots of failed tests go; default
// $TMPDIR/parley-e2e-screenshots).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { launchChromium } from './chromium.mjs';
import { HOST, ParleyProcess, binary } from './parley_process.mjs';



const artifacts = process.env.PARLEY_E2E_ARTIFACTS || path.join(os.tmpdir(), 'parley-e2e-screenshots');

const WAIT_MS = 15_000; // any single wait in a page or for the server
const PASSWORD = 'correct horse battery staple';

// ---- the server -------------------------------------------------------------------------------

// An HTTP API call from node (no Origin header: not a browser, so always accepted).
async function api(server, route, body, headers = {}) {
  const res = await fetch(`${server.base}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  return { status: res.status, body: await res.json() };
}

// ---- what the pages run -----------------------------------------------------------------------

// Script for the test pages: the same code whether it is served by the "other site", loaded from
// disk, or injected into Parley's own placeholder page (which has no client code of its own).
// Results are plain objects so that page.evaluate can return them.
const PAGE_SCRIPT = String.raw`
window.parley = {
  socket: null,
  received: [],
  // Opens a WebSocket; resolves once it opens, or fails (error/close before open), or after 10 s.
  // events: what the page saw, in order: 'open', 'error', 'close <code>'.
  connect(url) {
    return new Promise((resolve) => {
      const events = [];
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        resolve({ opened: false, events: ['threw ' + e.name + ': ' + e.message] });
        return;
      }
      const timer = setTimeout(() => resolve({ opened: false, events: events.concat('timeout') }), 10000);
      ws.onopen = () => {
        events.push('open');
        clearTimeout(timer);
        parley.socket = ws;
        resolve({ opened: true, events });
      };
      ws.onerror = () => events.push('error');
      ws.onclose = (e) => {
        events.push('close ' + e.code);
        clearTimeout(timer);
        resolve({ opened: false, events });
      };
      ws.onmessage = (e) => {
        try { parley.received.push(JSON.parse(e.data)); } catch { parley.received.push({ unparsable: e.data }); }
      };
    });
  },
  send(msg) {
    parley.socket.send(JSON.stringify(msg));
  },
  // A JSON POST, as an account page would make it. Resolves with what the page can read: the
  // status and body, or the exception (a CORS failure is a TypeError with no response at all).
  async postJson(url, body) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    } catch (e) {
      return { threw: e.name, message: e.message };
    }
  },
  // The request a hostile page CAN get delivered cross-origin without a preflight: no-cors,
  // text/plain. The page only ever gets an opaque response.
  async postNoCors(url, text) {
    try {
      const res = await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: text });
      return { type: res.type, status: res.status };
    } catch (e) {
      return { threw: e.name, message: e.message };
    }
  },
};
`;

const testPage = (title) =>
  `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title>` +
  `<script>${PAGE_SCRIPT}</script></head><body><h1>${title}</h1></body></html>\n`;

// "Another site": a plain node HTTP server on its own free port serving /evil.html.
async function startOtherSite() {
  const server = http.createServer((req, res) => {
    if (req.url === '/evil.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(testPage('Not Parley'));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://${HOST}:${port}`,
    url: `http://${HOST}:${port}/evil.html`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

// ---- the tests --------------------------------------------------------------------------------

describe('origins and accounts in Chromium, against parley on free ports', () => {
  let browser;
  let launching;
  const launched = () => (launching ??= (async () => {
    browser = await launchChromium();
    return browser;
  })());

  after(async () => {
    if (browser) {
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000).unref())]).catch(() => {});
    }
  });

  // Runs `body` with a fresh set of pages and cleanups; on failure screenshots every page (into
  // `artifacts`, named after the test) before the servers stop, then rethrows.
  function browserTest(name, slug, body) {
    test(name, { timeout: 120_000 }, async (t) => {
      await launched();
      const env = {
        pages: [],
        cleanups: [],
        // A page in its own browser context (own storage), with console errors recorded.
        async open(label, url, { inject = false } = {}) {
          const context = await browser.newContext({ viewport: { width: 640, height: 360 } });
          env.cleanups.push(() => context.close());
          context.setDefaultTimeout(WAIT_MS);
          if (inject) await context.addInitScript({ content: PAGE_SCRIPT });
          const page = await context.newPage();
          page.consoleErrors = [];
          page.on('console', (m) => { if (m.type() === 'error') page.consoleErrors.push(m.text()); });
          page.on('pageerror', (err) => page.consoleErrors.push(`pageerror: ${err.message}`));
          // Failed loads the page itself made (Playwright does not report Chromium's favicon fetch).
          page.badResponses = [];
          page.on('response', (r) => { if (r.status() >= 400) page.badResponses.push(`${r.status()} ${r.url()}`); });
          env.pages.push({ label, page });
          const res = await page.goto(url);
          if (res) assert.equal(res.status(), 200, `GET ${url}`);
          return page;
        },
        async server(...args) {
          const s = new ParleyProcess({ args });
          env.cleanups.push(() => s.stop());
          await s.start();
          return s;
        },
      };
      try {
        await body(t, env);
      } catch (err) {
        fs.mkdirSync(artifacts, { recursive: true });
        for (const { label, page } of env.pages) {
          const file = path.join(artifacts, `origins-${slug}-${label}.png`);
          try {
            await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
            t.diagnostic(`screenshot: ${file}`);
          } catch { /* the page may be gone; the error below matters more */ }
        }
        throw err;
      } finally {
        for (const cleanup of env.cleanups.reverse()) await cleanup().catch(() => {});
      }
    });
  }

  // A page's WebSocket refused by the origin check: the page sees error + close (1006), never
  // open; Chromium reports the 403; parley logs the refusal naming the origin.
  async function assertRefused(page, server, result, origin) {
    assert.equal(result.opened, false, `the WebSocket opened: ${JSON.stringify(result)}`);
    assert.ok(!result.events.includes('open'), JSON.stringify(result.events));
    assert.ok(result.events.includes('error'), `no error event: ${JSON.stringify(result.events)}`);
    assert.ok(result.events.includes('close 1006'), `no close 1006: ${JSON.stringify(result.events)}`);
    assert.ok(page.consoleErrors.some((e) => /WebSocket/.test(e) && /403/.test(e)),
      `Chromium did not report a 403 handshake: ${JSON.stringify(page.consoleErrors)}`);
    const escaped = origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await server.waitForLog(new RegExp(`refused a WebSocket from \\S+: origin '${escaped}' is not allowed`),
      `the refusal of origin ${origin}`);
  }

  // Proves: with --auth password, a page served by Parley itself (same origin) can do everything
  // in the browser: register over the HTTP API with fetch(), open a WebSocket, log in with the
  // token it got, and chat to another user in another browser context.
  browserTest('same origin: register with fetch, log in with the token, chat alice → bob', 'same-origin',
    async (t, env) => {
      const server = await env.server('--auth', 'password');
      const pages = {};
      for (const name of ['alice', 'bob']) {
        const page = await env.open(name, `${server.base}/`, { inject: true });
        assert.equal(await page.title(), 'Parley', 'the server\'s own placeholder page');
        const reg = await page.evaluate(([url, user, password]) =>
          parley.postJson(url, { user_id: user, password }), [`${server.base}/api/register`, name, PASSWORD]);
        assert.equal(reg.status, 201, `register ${name}: ${JSON.stringify(reg)}`);
        assert.equal(reg.body.user_id, name);
        assert.match(reg.body.token, /^pt_[A-Za-z0-9_-]{43}$/);

        const conn = await page.evaluate((url) => parley.connect(url), server.wsUrl);
        assert.deepEqual(conn, { opened: true, events: ['open'] });
        await page.evaluate((token) => parley.send({ type: 'login', token }), reg.body.token);
        await page.waitForFunction(() => parley.received.some((m) => m.type === 'synced'));
        const ok = await page.evaluate(() => parley.received.find((m) => m.type === 'login_ok'));
        assert.equal(ok?.user_id, name, JSON.stringify(await page.evaluate(() => parley.received)));
        pages[name] = page;
      }

      const text = 'Hello Bob, from a same-origin page';
      await pages.alice.evaluate((message) =>
        parley.send({ type: 'chat', to_user_id: 'bob', message, id: 'c-1' }), text);
      await pages.bob.waitForFunction(() => parley.received.some((m) => m.type === 'chat'));
      const chat = await pages.bob.evaluate(() => parley.received.find((m) => m.type === 'chat'));
      assert.equal(chat.from_user_id, 'alice');
      assert.equal(chat.to_user_id, 'bob');
      assert.equal(chat.message, text);
      await pages.alice.waitForFunction(() => parley.received.some((m) => m.type === 'ack'));
      const ack = await pages.alice.evaluate(() => parley.received.find((m) => m.type === 'ack'));
      assert.equal(ack.id, 'c-1');
      for (const [name, page] of Object.entries(pages)) {
        const received = await page.evaluate(() => parley.received);
        assert.ok(!received.some((m) => m.type === 'error' || m.unparsable !== undefined),
          `${name} got: ${JSON.stringify(received)}`);
        assert.deepEqual(page.badResponses, [], `${name}'s page had failed loads`);
        // Nothing at all in the console: not even the favicon request Chromium makes on its own.
        assert.deepEqual(page.consoleErrors, [], `${name}'s page reported errors`);
      }
      t.diagnostic(`parley on port ${server.port}`);
    });

  // Proves: cross-site WebSocket hijacking is blocked. A page from another origin cannot open a
  // WebSocket to a password-mode server (403; the page sees error/close, never open), and its
  // fetch() of /api/login with the victim's real password gets nothing readable (a TypeError:
  // the preflight is refused and no CORS headers are sent). Not even a no-cors text/plain POST
  // (which the browser does deliver) creates a session: logging out everywhere with the one token
  // the victim holds afterwards revokes exactly one session.
  browserTest('another origin: its WebSocket and its API login are refused', 'other-origin', async (t, env) => {
    const server = await env.server('--auth', 'password');
    const other = await startOtherSite();
    env.cleanups.push(() => other.close());

    const reg = await api(server, '/api/register', { user_id: 'victim', password: PASSWORD });
    assert.equal(reg.status, 201, JSON.stringify(reg));

    const page = await env.open('evil', other.url);
    const ws = await page.evaluate((url) => parley.connect(url), server.wsUrl);
    await assertRefused(page, server, ws, other.origin);

    const loginUrl = `${server.base}/api/login`;
    const login = await page.evaluate((url) => parley.postJson(url, { user_id: 'victim', password: 'correct horse battery staple' }),
      loginUrl);
    assert.equal(login.threw, 'TypeError', `the page could read an answer: ${JSON.stringify(login)}`);
    assert.equal(login.status, undefined);
    assert.ok(!JSON.stringify(login).includes('pt_'), 'a token reached the page');

    const blind = await page.evaluate((url) =>
      parley.postNoCors(url, JSON.stringify({ user_id: 'victim', password: 'correct horse battery staple' })), loginUrl);
    assert.deepEqual(blind, { type: 'opaque', status: 0 }, 'a no-cors POST gives the page only an opaque answer');
    // Chromium still logs the status: 403 (the origin check), not 415 (text/plain) or 200.
    assert.ok(page.consoleErrors.some((e) => /^Failed to load resource: .* 403 \(Forbidden\)$/.test(e)),
      `the no-cors POST was not answered 403: ${JSON.stringify(page.consoleErrors)}`);
    t.diagnostic(`the page's console: ${JSON.stringify(page.consoleErrors)}`);

    // No session came out of any of that: the victim's own token is the only one.
    const out = await api(server, '/api/logout', { everywhere: true }, { Authorization: `Bearer ${reg.body.token}` });
    assert.deepEqual(out, { status: 200, body: { revoked: 1 } }, `sessions of 'victim'\n${server.log}`);
    // The server's own origin still works (the refusals were about the origin, not the account).
    const again = await api(server, '/api/login', { user_id: 'victim', password: PASSWORD });
    assert.equal(again.status, 200, JSON.stringify(again));
  });

  // Proves: the allow-list decides. The same page from the same other origin, once that origin
  // is in --allowed-origins, opens its WebSocket and logs in with a password; the server's log
  // has no refusal.
  browserTest('another origin listed in --allowed-origins: its WebSocket opens and its scripts may use the API', 'allowed-origin',
    async (t, env) => {
      const other = await startOtherSite();
      env.cleanups.push(() => other.close());
      const server = await env.server('--auth', 'password', '--allowed-origins', other.origin);
      const reg = await api(server, '/api/register', { user_id: 'carol', password: PASSWORD });
      assert.equal(reg.status, 201, JSON.stringify(reg));

      const page = await env.open('allowed', other.url);
      const ws = await page.evaluate((url) => parley.connect(url), server.wsUrl);
      assert.deepEqual(ws, { opened: true, events: ['open'] }, server.log);
      await page.evaluate((password) => parley.send({ type: 'login', user_id: 'Carol', password }), PASSWORD);
      await page.waitForFunction(() => parley.received.some((m) => m.type === 'synced' || m.type === 'error'));
      const received = await page.evaluate(() => parley.received);
      assert.equal(received[0]?.type, 'login_ok', JSON.stringify(received));
      assert.equal(received[0].user_id, 'carol');
      assert.doesNotMatch(server.log, /is not allowed/);

      // A listed origin also gets CORS from the API: its scripts can register and read the
      // answer (the browser's preflight and the POST both pass), like a web client hosted elsewhere.
      const fetched = await page.evaluate((url) => parley.postJson(url, { user_id: 'dora', password: 'a long passphrase' }),
        `${server.base}/api/register`);
      assert.equal(fetched.status, 201, JSON.stringify(fetched));
      assert.equal(fetched.body.user_id, 'dora');
    });

  // Proves: a page opened from disk (file://, so `Origin: null`, like the tutorial's seed page)
  // cannot open a WebSocket to a password-mode server, and can to an --auth open one, which is
  // the only mode where `null` is accepted.
  browserTest('a file:// page: refused with --auth password, accepted with --auth open', 'file-origin',
    async (t, env) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-file-'));
      env.cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'local.html');
      fs.writeFileSync(file, testPage('A page from disk'));

      const password = await env.server('--auth', 'password');
      const open = await env.server('--auth', 'open');

      const page = await env.open('file', pathToFileURL(file).href);
      const refused = await page.evaluate((url) => parley.connect(url), password.wsUrl);
      await assertRefused(page, password, refused, 'null');

      const accepted = await page.evaluate((url) => parley.connect(url), open.wsUrl);
      assert.deepEqual(accepted, { opened: true, events: ['open'] }, open.log);
      await page.evaluate(() => parley.send({ type: 'login', user_id: 'alice' }));
      await page.waitForFunction(() => parley.received.some((m) => m.type === 'synced' || m.type === 'error'));
      const received = await page.evaluate(() => parley.received);
      assert.equal(received[0]?.type, 'login_ok', JSON.stringify(received));
      assert.equal(received[0].user_id, 'alice');
      assert.doesNotMatch(open.log, /is not allowed/);
    });
});
