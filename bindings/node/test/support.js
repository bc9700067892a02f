'use strict';
/**
 * Test support: the local test server (the wxnet-testserver binary as a child
 * process), configs pinning the test hostnames to it with the whole policy path on,
 * and the skip rule for APIs the library does not implement yet.
 */

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const WORKSPACE = path.resolve(__dirname, '..', '..', '..');
const API = 'https://api.wxnet.test';
const UPLOAD = 'https://up.wxnet.test';
const CDN = 'https://cdn.wxnet.test';
const WS = 'wss://ws.wxnet.test';
const OTHER = 'https://other.wxnet.test';
const HOSTS = ['api.wxnet.test', 'up.wxnet.test', 'cdn.wxnet.test', 'ws.wxnet.test', 'other.wxnet.test'];

/**
 * Spawns the test server; resolves with its JSON line plus `caPem` and `stop()`.
 * @returns {Promise<{https: number, ca: string, caPem: string, stop: () => Promise<void>}>}
 */
async function startServer() {
  const binary = process.env.WXNET_TESTSERVER || path.join(WORKSPACE, 'target', 'debug', 'wxnet-testserver');
  if (!fs.existsSync(binary)) throw new Error(`${binary} not found: run \`cargo build -p wxnet-testserver\``);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxnet-node-server-'));
  const child = spawn(binary, ['--ca-file', path.join(dir, 'ca.pem')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (l) => { rl.close(); resolve(l); });
    child.once('exit', (code) => reject(new Error(`wxnet-testserver exited early with ${code}`)));
    child.once('error', reject);
  });
  const info = JSON.parse(line);
  info.caPem = fs.readFileSync(info.ca, 'utf8');
  info.stop = async () => {
    child.stdin.end();
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return info;
}

/** Sandbox roots made by makeConfig, removed when the test process exits. */
const appRoots = [];
process.on('exit', () => {
  for (const root of appRoots) fs.rmSync(root, { recursive: true, force: true });
});

/**
 * An app config: the four listed domains (and unlisted other.wxnet.test) pinned to the
 * server, sandbox dirs in a fresh temp directory.
 * @param {{https: number, caPem: string}} server
 * @param {object} [overrides]
 */
function makeConfig(server, overrides = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wxnet-node-app-'));
  appRoots.push(root);
  const tempDir = path.join(root, 'tmp');
  const userDataDir = path.join(root, 'usr');
  fs.mkdirSync(tempDir);
  fs.mkdirSync(userDataDir);
  const pin = `127.0.0.1:${server.https}`;
  return {
    appId: 'wxtest',
    domains: { request: [API], uploadFile: [UPLOAD], downloadFile: [CDN], socket: [WS] },
    caCertificates: [server.caPem],
    resolve: Object.fromEntries(HOSTS.map((h) => [`${h}:443`, pin])),
    tempDir,
    userDataDir,
    ...overrides,
  };
}

/** The real file behind a wxfile:// path of an app with this config. */
function sandboxPath(config, virtual) {
  if (!virtual.startsWith('wxfile://')) throw new Error(`not a wxfile path: ${virtual}`);
  const rest = virtual.slice('wxfile://'.length);
  return rest.startsWith('usr/') ? path.join(config.userDataDir, rest.slice(4)) : path.join(config.tempDir, rest);
}

/** The test server's /bytes pattern. */
function pattern(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

/**
 * Runs `start`; when the library reports the API as not implemented in this build,
 * marks the test skipped (saying so) and returns undefined.
 * @param {import('node:test').TestContext} t
 * @param {() => any} start
 */
function startOrSkip(t, start) {
  try {
    return { value: start() };
  } catch (err) {
    if (err && err.notImplemented) {
      t.skip(`not implemented in this build of libwxnet yet: ${err.detail}`);
      return null;
    }
    throw err;
  }
}

/** Resolves after `ms`. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { startServer, makeConfig, sandboxPath, pattern, startOrSkip, sleep, API, UPLOAD, CDN, WS, OTHER, WORKSPACE };
