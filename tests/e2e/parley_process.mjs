// The real `parley serve` for the browser tests: started with the flags a test gives, a fresh
// data directory, and its log captured; stopped with SIGTERM (and a bounded wait).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const HOST = '127.0.0.1';
export const binary = process.env.PARLEY_BINARY || path.join(repoRoot, 'build', 'release', 'parley');
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_WAIT_MS = 15_000;

export class ParleyProcess {
  // `listen`: HOST:PORT (port 0: any free one); `args`: further `parley serve` flags.
  constructor({ listen = `${HOST}:0`, args = [] } = {}) {
    this.listen = listen;
    this.args = args;
    this.log = '';
    this.exit = null; // {code, signal} once exited
    this.events = new EventEmitter();
  }

  get base() {
    return `http://${HOST}:${this.port}`;
  }

  get wsUrl() {
    return `ws://${HOST}:${this.port}/`;
  }

  // Starts it and resolves once it logs the port it listens on.
  async start() {
    fs.accessSync(binary, fs.constants.X_OK);
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-data-'));
    const args = ['serve', '--listen', this.listen, '--threads', '2', '--data-dir', this.dataDir, ...this.args];
    const env = { ...process.env };
    delete env.PARLEY_CONFIG; // only the flags given here count
    this.proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const onData = (chunk) => {
      this.log += chunk.toString();
      this.events.emit('log');
    };
    // The log is meant for stderr; read stdout too so the port is found either way.
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.events.emit('log');
        resolve(this.exit);
      });
    });
    this.proc.once('error', (err) => {
      this.log += `\nspawn error: ${err.message}\n`;
      this.events.emit('log');
    });
    const m = await this.waitForLog(/listening on \S+:(\d+)/, "a 'listening on' line", START_TIMEOUT_MS);
    this.port = Number(m[1]);
  }

  // Resolves with the match once the log matches `re`; rejects (with the log) on timeout or exit.
  waitForLog(re, what, timeoutMs = LOG_WAIT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no ${what} in parley's log within ${timeoutMs} ms`)),
        timeoutMs);
      const check = () => {
        const m = re.exec(this.log);
        if (m) done(null, m);
        else if (this.exit) done(new Error(`parley exited (${JSON.stringify(this.exit)}) before ${what}`));
      };
      const done = (err, value) => {
        clearTimeout(timer);
        this.events.off('log', check);
        if (err) reject(new Error(`${err.message}\n--- parley log ---\n${this.log}`));
        else resolve(value);
      };
      this.events.on('log', check);
      check();
    });
  }

  // SIGTERM and a bounded wait; returns {code, signal}. A server that does not exit in time is
  // killed, and that is an error.
  async stop() {
    if (!this.proc) return null;
    if (!this.exit) {
      this.proc.kill('SIGTERM');
      const timedOut = Symbol('timeout');
      let timer;
      const result = await Promise.race([
        this.exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve(timedOut), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (result === timedOut) {
        this.kill();
        this.cleanup();
        throw new Error(`parley did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.log}`);
      }
    }
    this.cleanup();
    return this.exit;
  }

  kill() {
    if (this.proc && !this.exit) this.proc.kill('SIGKILL');
  }

  cleanup() {
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
    this.dataDir = undefined;
  }
}
