'use strict';
/**
 * Harness for running mini-program code on the wx layer: a spy around the Node
 * bridge (records every start and event, and tells when all tasks ended), container
 * stubs for the non-network wx APIs the seed samples call, and a runner that
 * evaluates a sample file unmodified with `wx`, `Page` and `console` in scope.
 */

const fs = require('node:fs');
const path = require('node:path');
const wxnet = require('./wxnet');

const KIND = wxnet.EventKind;

/** Terminal kinds per api. */
function isTerminal(api, kind) {
  return api === 'connectSocket' ? kind === KIND.FAIL || kind === KIND.SOCKET_CLOSE : kind === KIND.SUCCESS || kind === KIND.FAIL;
}

/**
 * Wraps a bridge; records `starts` ({api, options, id, events: [{kind, res}]}) and
 * `startErrors`.
 */
function spyBridge(inner) {
  const starts = [];
  const startErrors = [];
  let waiters = [];
  const check = () => {
    waiters = waiters.filter((w) => {
      if (starts.length >= w.count && starts.every((s) => s.ended)) {
        w.resolve();
        return false;
      }
      return true;
    });
  };
  return {
    starts,
    startErrors,
    /** Resolves once at least `count` tasks started and all of them ended. */
    settled(count = 1, timeoutMs = 15000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not settled: ${JSON.stringify(starts.map((s) => [s.api, s.events.map((e) => e.kind)]))}`)), timeoutMs);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
        check();
      });
    },
    /** Whether some start was refused because the library lacks the API. */
    get notImplemented() {
      return startErrors.find((e) => e.notImplemented) || null;
    },
    start(api, optionsJson, body, sink) {
      const entry = { api, options: JSON.parse(optionsJson), body, id: null, events: [], ended: false };
      try {
        entry.id = inner.start(api, optionsJson, body, (kind, json, data) => {
          entry.events.push({ kind, res: JSON.parse(json), data });
          if (isTerminal(api, kind)) entry.ended = true;
          try {
            sink(kind, json, data);
          } finally {
            if (entry.ended) setImmediate(check); // after the deferred callbacks
          }
        });
      } catch (err) {
        startErrors.push(err);
        throw err;
      }
      starts.push(entry);
      return entry.id;
    },
    abort: (id) => inner.abort(id),
    socketSend: (id, data) => inner.socketSend(id, data),
    socketClose: (id, code, reason) => inner.socketClose(id, code, reason),
  };
}

/**
 * The non-network wx APIs the samples call, as a container would provide them:
 * chooseImage picks a file made in the app's temp dir; UI calls are recorded.
 */
function containerStubs(config, calls) {
  return {
    chooseImage(options) {
      const name = 'tmp_chosen_photo.png';
      fs.writeFileSync(path.join(config.tempDir, name), Buffer.from('\x89PNG\r\n\x1a\n fake image bytes', 'latin1'));
      calls.push(['chooseImage']);
      setImmediate(() => options.success({ errMsg: 'chooseImage:ok', tempFilePaths: [`wxfile://${name}`] }));
    },
    showLoading(options) { calls.push(['showLoading', options]); },
    hideLoading(options) { calls.push(['hideLoading', options]); },
    showToast(options) { calls.push(['showToast', options]); },
    playVoice(options) { calls.push(['playVoice', options]); },
  };
}

/**
 * A mini-program environment on an app: `wx` (the layer plus container stubs),
 * `Page`, a capturing `console`, and `run(file)` evaluating a fixture unmodified.
 */
function miniProgram(app, config) {
  const callbackErrors = [];
  const spy = spyBridge(wxnet.createBridge(app));
  const wxCore = wxnet.wxLayer.createWx(spy, { onCallbackError: (err) => callbackErrors.push(err) });
  const calls = [];
  const logs = [];
  const pages = [];
  const wx = Object.assign({}, wxCore, containerStubs(config, calls));
  const env = {
    wx,
    spy,
    calls,
    logs,
    pages,
    callbackErrors,
    console: { log: (...args) => logs.push(args), error: (...args) => logs.push(['error', ...args]) },
    Page: (definition) => { pages.push(definition); },
    /** Evaluates a fixture file (sample code) with wx, Page and console in scope. */
    run(file) {
      const source = fs.readFileSync(path.join(__dirname, 'fixtures', 'seeds', file), 'utf8');
      // eslint-disable-next-line no-new-func
      new Function('wx', 'Page', 'console', source)(env.wx, env.Page, env.console);
    },
  };
  return env;
}

/** Lets pending setImmediate / microtask callbacks run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

module.exports = { miniProgram, spyBridge, flush };
