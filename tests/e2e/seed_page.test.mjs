// End-to-end: the Workerman tutorial's page (shared/seed/seed-client.html), opened UNMODIFIED from
// disk in Debian's Chromium, must work against Parley. The page hard-codes ws://127.0.0.1:2346,
// so this test needs that port: it fails at once, saying so, if something else holds it.
//
//   cd tests/e2e && npm ci && PARLEY_BINARY=../../build/release/parley node --test
//
// Environment: PARLEY_BINARY (default build/release/parley), PARLEY_SEED_PAGE (default
// ../shared/seed/seed-client.html beside the repo), PARLEY_CHROMIUM (default /usr/bin/chromium),
// PARLEY_E2E_ARTIFACTS (where screenshots go; default $TMPDIR/parley-e2e-screenshots).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { chromiumPath, launchChromium } from './chromium.mjs';
import { HOST, ParleyProcess, binary } from './parley_process.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');


const PORT = 2346; // hard-coded in the seed page: ws://127.0.0.1:2346
const BASE = `http://${HOST}:${PORT}`;
const seedPage =
  process.env.PARLEY_SEED_PAGE || path.resolve(repoRoot, '..', 'shared', 'seed', 'seed-client.html');

const WAIT_MS = 15_000; // any single wait in a page

// ---- the server -------------------------------------------------------------------------------

// Resolves if nothing listens on HOST:PORT; rejects with a clear message if something does.
function assertPortFree(port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${HOST} is busy, but the seed page hard-codes ws://${HOST}:${port}: ` +
                `stop whatever listens there (see \`ss -ltnp 'sport = :${port}'\`) and rerun`
            : `cannot probe port ${port}: ${err.message}`,
        ),
      );
    });
    probe.listen({ port, host: HOST, exclusive: true }, () => probe.close(resolve));
  });
}

// ---- a page and its WebSocket traffic ---------------------------------------------------------

// Records every WebSocket frame a page receives, so a test can wait for the server's login_ok
// (the seed page itself never waits for it) without sleeping.
function watchFrames(page) {
  const received = [];
  const events = new EventEmitter();
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      let msg;
      try {
        msg = JSON.parse(payload.toString());
      } catch {
        msg = { unparsable: payload.toString() };
      }
      received.push(msg);
      events.emit('frame');
    });
  });
  return {
    received,
    waitFor(predicate, what, timeoutMs = WAIT_MS) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = received.find(predicate);
          if (hit) {
            finish();
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${what} within ${timeoutMs} ms; frames received: ${JSON.stringify(received)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          events.off('frame', check);
        };
        events.on('frame', check);
        check();
      });
    },
  };
}

async function openSeedPage(browser, name) {
  const context = await browser.newContext({ viewport: { width: 640, height: 360 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  const frames = watchFrames(page);
  await page.goto(pathToFileURL(seedPage).href);
  return { name, context, page, frames, problems };
}

async function login(client, userId) {
  await client.page.fill('#user_id', userId);
  await client.page.getByRole('button', { name: 'Login' }).click();
  const ok = await client.frames.waitFor((m) => m.type === 'login_ok', `login_ok for ${userId}`);
  assert.equal(ok.user_id, userId);
}

async function send(client, to, text) {
  await client.page.fill('#to_user_id', to);
  await client.page.fill('#message', text);
  await client.page.getByRole('button', { name: 'Send' }).click();
}

async function chatLines(client) {
  return client.page.locator('#chat p').allInnerTexts();
}

async function waitForChatLine(client, line) {
  try {
    await client.page.locator('#chat p').filter({ hasText: line }).first().waitFor({ timeout: WAIT_MS });
  } catch (err) {
    throw new Error(`${client.name}'s #chat never showed ${JSON.stringify(line)}; it shows ` +
      `${JSON.stringify(await chatLines(client))}; frames: ${JSON.stringify(client.frames.received)}`,
    { cause: err });
  }
}

// ---- the tests --------------------------------------------------------------------------------

describe('the seed page, unmodified, against parley on port 2346', () => {
  let server;
  let browser;
  let artifacts;
  const clients = {};

  // Started by the first test that needs it, not in a before() hook: a failure here (port busy,
  // no binary, no Chromium) then fails each test with its message, instead of cancelling them.
  let setup;
  const started = () => (setup ??= startAll());
  async function startAll() {
    assert.ok(fs.existsSync(seedPage), `seed page not found: ${seedPage} (set PARLEY_SEED_PAGE)`);
    assert.ok(fs.readFileSync(seedPage, 'utf8').includes(`ws://${HOST}:${PORT}`),
      `${seedPage} no longer connects to ws://${HOST}:${PORT}; this test assumes it does`);
    assert.ok(fs.existsSync(binary), `parley binary not found: ${binary} (build it, or set PARLEY_BINARY)`);
    assert.ok(fs.existsSync(chromiumPath), `Chromium not found at ${chromiumPath} (apt-get install chromium)`);
    await assertPortFree(PORT);
    // One fixed folder, overwritten by each run (the fixed port means runs never overlap).
    artifacts = process.env.PARLEY_E2E_ARTIFACTS || path.join(os.tmpdir(), 'parley-e2e-screenshots');
    fs.mkdirSync(artifacts, { recursive: true });

    server = new ParleyProcess({
      listen: `${HOST}:${PORT}`,
      args: ['--auth', 'open', '--max-connections-per-ip', '0'],
    });
    await server.start();
    assert.equal(server.port, PORT, `parley listens on ${server.port}, not on ${PORT}`);
    browser = await launchChromium();
  }

  after(async () => {
    // Cleanup only; the graceful-stop assertions are a test of their own below.
    if (browser) {
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000).unref())]).catch(() => {});
    }
    if (server) {
      server.kill();
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
      server.cleanup();
    }
  });

  test('two pages log in and chat both ways', { timeout: 90_000 }, async (t) => {
    await started();
    clients.alice = await openSeedPage(browser, 'alice');
    clients.bob = await openSeedPage(browser, 'bob');
    const { alice, bob } = clients;

    await login(alice, 'alice');
    await login(bob, 'bob');

    const toBob = 'Hello Bob, from Alice';
    await send(alice, 'bob', toBob);
    await waitForChatLine(bob, `From alice: ${toBob}`);
    // The sender's page gets an ack (which the seed page ignores), never a chat line of its own.
    const ack = await alice.frames.waitFor((m) => m.type === 'ack', 'ack for alice');
    assert.equal(ack.id, null);

    const toAlice = 'Hi Alice — ça va? 👋';
    await send(bob, 'alice', toAlice);
    await waitForChatLine(alice, `From bob: ${toAlice}`);

    assert.deepEqual(await chatLines(alice), [`From bob: ${toAlice}`]);
    assert.deepEqual(await chatLines(bob), [`From alice: ${toBob}`]);
    const chat = bob.frames.received.find((m) => m.type === 'chat');
    assert.equal(chat.from_user_id, 'alice');
    assert.equal(chat.to_user_id, 'bob');
    assert.equal(chat.message, toBob);

    for (const c of [alice, bob]) {
      const file = path.join(artifacts, `seed-page-${c.name}.png`);
      await c.page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
      assert.deepEqual(c.problems, [], `${c.name}'s page reported errors`);
      assert.ok(!c.frames.received.some((m) => m.unparsable !== undefined), 'a frame was not JSON');
      assert.ok(!c.frames.received.some((m) => m.type === 'error'),
        `${c.name} got an error: ${JSON.stringify(c.frames.received)}`);
    }
  });

  test('GET / serves the web client and /healthz says ok', { timeout: 30_000 }, async () => {
    await started();
    const root = await fetch(`${BASE}/`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await root.text(), /<html/i);

    const health = await fetch(`${BASE}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    assert.equal((await health.text()).trim(), 'ok');
  });

  test('SIGTERM closes the pages\' sockets with 1001 and parley exits 0', { timeout: 60_000 }, async () => {
    await started();
    // Observe the page's own socket (its global `ws`) without changing the page.
    const closes = [];
    for (const c of Object.values(clients)) {
      const open = await c.page.evaluate(() => typeof ws !== 'undefined' && ws.readyState === WebSocket.OPEN);
      if (!open) continue;
      await c.page.evaluate(() => {
        window.__parleyClose = new Promise((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
      });
      closes.push(c);
    }
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `parley's exit on SIGTERM\n${server.log}`);
    for (const c of closes) {
      const code = await c.page.evaluate(() =>
        Promise.race([window.__parleyClose, new Promise((r) => setTimeout(() => r('no close event'), 10_000))]));
      assert.equal(code, 1001, `${c.name}'s socket close code`);
    }
  });
});
