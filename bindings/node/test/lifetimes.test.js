'use strict';
// Object lifetimes across the C boundary: koffi's registered wakeup callback, Apps in
// worker threads, process exit with Apps open, close() from inside a listener. The
// cases that could crash run in a child node process, so a crash fails its test
// instead of killing the runner; every wait is bounded.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const wxnet = require('./wxnet');
const { startServer, makeConfig, API, WS } = require('./support');

/** The package under test, as the child processes load it (test/wxnet.js). */
const WXNET = path.join(__dirname, 'wxnet.js');
/** Bound of one child process. */
const CHILD_TIMEOUT_MS = 30000;

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

/**
 * Runs `body` (the text of an async function body; `wxnet`, `Worker`, `once` and `input`
 * are in scope) in a child node process. It prints its result as the last stdout line,
 * as JSON. Resolves with {code, signal, stdout, stderr, result}.
 */
function runChild(body, input) {
  const code = `
    'use strict';
    const { Worker } = require('node:worker_threads');
    const { once } = require('node:events');
    const wxnet = require(${JSON.stringify(WXNET)});
    const input = JSON.parse(process.env.LIFETIMES_INPUT);
    (async () => { ${body} })().then(
      (result) => { process.stdout.write(JSON.stringify(result) + '\\n'); },
      (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exitCode = 1; },
    );
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      env: { ...process.env, LIFETIMES_INPUT: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CHILD_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      const last = stdout.trim().split('\n').pop();
      let result;
      try {
        result = JSON.parse(last);
      } catch {
        result = undefined;
      }
      resolve({ code: exitCode, signal, stdout, stderr, result });
    });
  });
}

/** Asserts a clean exit of the child, showing its output otherwise. */
function assertClean(run) {
  assert.equal(run.signal, null, `child killed by ${run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.equal(run.code, 0, `child exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.notEqual(run.result, undefined, `no result line\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

/**
 * The worker of the worker-thread cases: an App, `count` requests to `url`; when the
 * parent says so (or at the `exitAtChunk`-th chunk of any of them) it posts the task
 * ids and leaves by `how`: 'exit' (process.exit) or 'throw' (an uncaught exception).
 */
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const wxnet = require(workerData.wxnet);
  const app = new wxnet.App(workerData.config);
  const tasks = [];
  const leave = () => {
    parentPort.postMessage({ ids: tasks.map((t) => String(t.id)) });
    if (workerData.how === 'throw') throw new Error('worker leaves by an uncaught exception');
    process.exit(0);
  };
  let chunks = 0;
  for (let i = 0; i < workerData.count; i++) {
    const task = app.startRequest({ url: workerData.url, enableChunked: true });
    task.on('chunkReceived', () => { if (++chunks === workerData.exitAtChunk) leave(); });
    tasks.push(task);
  }
  parentPort.postMessage({ started: true });
  parentPort.once('message', leave);
`;

/** Child body: runs WORKER, waits for its exit, then aborts its tasks from here. */
const WORKER_PARENT = `
  const worker = new Worker(input.worker, { eval: true, workerData: input.workerData });
  worker.on('error', () => {}); // the 'throw' case (events.once would reject on it)
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const ids = new Promise((resolve) => worker.on('message', (message) => {
    if (message.ids) resolve(message.ids);
    else if (!input.workerData.exitAtChunk) worker.postMessage('leave');
  }));
  await exited;
  // Aborting queues a FAIL event, which calls the app's wakeup hook, unless the app
  // was freed with its worker (then the id is unknown).
  return { statuses: (await ids).map((id) => wxnet.native.wxnet_task_abort(BigInt(id))) };
`;

describe('worker threads', () => {
  it('a worker that exits with an App open frees it: a later event cannot call into the dead worker', async () => {
    const run = await runChild(WORKER_PARENT, {
      worker: WORKER,
      workerData: { wxnet: WXNET, config: makeConfig(server), url: `${API}/hang`, count: 1, how: 'exit' },
    });
    assertClean(run);
    // WXNET_E_UNKNOWN_TASK: the app was freed before the worker was gone. (0 here meant
    // a FAIL event for a wakeup hook whose koffi callback died with the worker: the
    // process aborted.)
    assert.deepEqual(run.result.statuses, [-4]);
  });

  for (const how of ['exit', 'throw']) {
    it(`a worker leaving from a listener (${how}) while its App streams events: no crash, no hang`, async () => {
      const run = await runChild(WORKER_PARENT, {
        worker: WORKER,
        workerData: {
          wxnet: WXNET, config: makeConfig(server), url: `${API}/chunked?n=400&size=100&interval_ms=1`,
          count: 8, how, exitAtChunk: 50,
        },
      });
      assertClean(run);
      assert.deepEqual(run.result.statuses, Array(8).fill(-4));
    });
  }
});

describe('process exit and construction', () => {
  it('process.exit() with Apps open and events streaming exits cleanly', async () => {
    const run = await runChild(`
      const app = new wxnet.App(input.config);
      let chunks = 0;
      for (let i = 0; i < 8; i++) {
        const task = app.startRequest({ url: input.url, enableChunked: true });
        task.on('chunkReceived', () => {
          if (++chunks === 50) {
            process.stdout.write(JSON.stringify({ exiting: true }) + '\\n');
            process.exit(0);
          }
        });
      }
      await new Promise(() => {}); // until the exit (the child's own bound)
    `, { config: makeConfig(server), url: `${API}/chunked?n=400&size=100&interval_ms=1` });
    assertClean(run);
    assert.deepEqual(run.result, { exiting: true });
  });

  it('new App() failing for want of koffi callback slots leaves no native app behind', async () => {
    const run = await runChild(`
      const path = require('node:path');
      // The koffi instance of the package under test (its callback slots).
      const koffi = require(require.resolve('koffi', { paths: [path.dirname(require.resolve(input.package))] }));
      const { native } = wxnet;
      const config = Buffer.from(JSON.stringify(input.config));
      // A handle's bits above the low 32 (64-bit) are its app-table slot index + 1; the
      // table reuses a freed slot first and only grows for apps alive at once.
      const slotOfNewApp = () => {
        const out = [null];
        if (native.wxnet_app_new(config, config.length, null, null, out) !== 0) throw new Error('wxnet_app_new');
        if (native.wxnet_app_free(out[0]) !== 0) throw new Error('wxnet_app_free');
        return Number(BigInt(out[0]) >> 32n);
      };
      const first = slotOfNewApp();
      const filler = koffi.pointer(koffi.proto('void lifetimes_filler(void)'));
      const slots = [];
      for (;;) {
        try {
          slots.push(koffi.register(() => {}, filler));
        } catch {
          break;
        }
      }
      const errors = [];
      for (let i = 0; i < 3; i++) {
        try {
          new wxnet.App(input.config);
        } catch (err) {
          errors.push(err.message);
        }
      }
      for (const slot of slots) koffi.unregister(slot);
      return { filled: slots.length, errors, first, after: slotOfNewApp() };
    `, { config: makeConfig(server), package: require.resolve(process.env.WXNET_NODE_PACKAGE || '..') });
    assertClean(run);
    assert.ok(run.result.filled > 1000, `${run.result.filled} callback slots filled`);
    assert.equal(run.result.errors.length, 3, 'new App() should fail without a free callback slot');
    // Three leaked native apps would hold slots first..first+2: the next app gets a new one.
    assert.equal(run.result.after, run.result.first, 'native apps of the failed constructions are still alive');
  });
});

describe('close', () => {
  it('close() twice from inside a listener, tasks in flight: one terminal event each, then clear errors', async () => {
    const errors = [];
    const app = new wxnet.App(makeConfig(server), { onCallbackError: (err) => errors.push(err) });
    const tasks = [];
    for (let i = 0; i < 4; i++) tasks.push(app.startRequest({ url: `${API}/chunked?n=50&size=100&interval_ms=5`, enableChunked: true }));
    tasks.push(app.startRequest({ url: `${API}/hang` }));
    const socket = app.connectSocket({ url: `${WS}/ws/echo` });
    tasks.push(socket);
    const terminals = tasks.map(() => 0);
    tasks.forEach((task, i) => task.on('done', () => { terminals[i] += 1; }));
    const closes = await new Promise((resolve) => {
      tasks[0].once('chunkReceived', () => resolve([app.close(), app.close()]));
    });
    assert.equal(closes[0], closes[1]);
    assert.throws(() => app.startRequest({ url: `${API}/json` }), wxnet.AppClosedError);
    assert.throws(() => app.resolvePath('wxfile://tmp_x'), wxnet.AppClosedError);
    await closes[0];
    assert.deepEqual(terminals, tasks.map(() => 1));
    assert.throws(() => app.setBackground(true), wxnet.AppClosedError);
    assert.throws(() => app.resetConnections(), wxnet.AppClosedError);
    assert.throws(() => socket.send('x'), { code: 'WXNET_E_UNKNOWN_TASK' });
    tasks[4].abort(); // ended: a no-op
    await app.close();
    assert.deepEqual(errors, []);
  });
});
