'use strict';
/**
 * `App`: one mini-program instance (`wxnet_app`) driven from the Node event loop.
 *
 * Threading: the app runs in poll mode. The library's wakeup hook is a koffi
 * registered callback; the library calls it on the app's dispatcher thread when the
 * event queue goes from empty to non-empty, koffi queues it to the main thread, and it
 * only schedules a drain (setImmediate). The drain copies each event with
 * `wxnet_app_poll(app, 0)` + `wxnet_event_free` and routes it to its task. So events
 * are handled on the main thread, in order, and nothing ever blocks the event loop.
 *
 * koffi makes the calling thread wait until the JS callback has run, so the main
 * thread must never block on the dispatcher: `wxnet_app_free` (which joins it) runs
 * on a libuv worker (`.async`), and the wakeup hook is set once, never replaced.
 *
 * Lifetimes: tasks are kept in a Map (id -> Task) until their terminal event. The
 * wakeup callback stays registered until `wxnet_app_free` returned. While any task
 * is in flight a ref'd timer keeps the process alive (koffi's cross-thread queue
 * does not), just like a pending socket would.
 *
 * Worker threads: koffi tears down a worker's registered callbacks with the worker,
 * and a library call into one afterwards aborts the whole process. So when a worker
 * exits (process.exit, the end of its code, an uncaught exception) every App of it
 * that is not freed yet is freed from its 'exit' handler, on a libuv worker: Node
 * waits for that call before tearing the worker down, and a wakeup running meanwhile
 * is released by the teardown. `worker.terminate()` runs no JS in the worker: close
 * its Apps first.
 * @module wxnet/app
 */

const { isMainThread } = require('node:worker_threads');
const { koffi, native, readBytes, WakeCallback } = require('./library');
const { check, AppClosedError, WxnetError } = require('./errors');
const { Event, EventKind } = require('./event');
const { RequestTask, UploadTask, DownloadTask, SocketTask } = require('./tasks');

/** Events handled per drain turn before yielding to the event loop. */
const DRAIN_BATCH = 256;

/** @param {unknown} value @param {string} what @returns {Buffer} UTF-8 JSON text */
function jsonBuffer(value, what) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object or JSON text`);
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${what} cannot be serialized to JSON: ${err.message}`);
  }
  return Buffer.from(text, 'utf8');
}

/** @param {unknown} data @returns {Buffer|null} binary data as a Buffer, else null */
function asBinary(data) {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

const START = {
  request: { Task: RequestTask, call: 'wxnet_request' },
  uploadFile: { Task: UploadTask, call: 'wxnet_upload_file' },
  downloadFile: { Task: DownloadTask, call: 'wxnet_download_file' },
  connectSocket: { Task: SocketTask, call: 'wxnet_connect_socket' },
};

/** Apps of this thread whose native app is not being freed yet. */
const unfreed = new Set();

if (!isMainThread) {
  // A worker's callbacks die with it: free its Apps before (see the module comment).
  // The main thread needs nothing: its exit ends the process (events cannot arrive
  // at a natural exit, where no task is in flight).
  process.on('exit', () => {
    for (const app of unfreed) app._freeAtExit();
  });
}

/** Default hook for listener exceptions: rethrown as an uncaught exception. */
function rethrowAsync(err) {
  process.nextTick(() => {
    throw err;
  });
}

/** One mini-program instance. Close it with `await app.close()`. */
class App {
  /**
   * @param {object|string} config the app config (appId required) or its JSON text.
   * @param {{onCallbackError?: (err: Error, where: string) => void}} [options]
   *   `onCallbackError` receives exceptions thrown by task listeners (default: they
   *   are rethrown as uncaught exceptions, as in any Node callback).
   * @throws {WxnetError} WXNET_E_INVALID_CONFIG (detail names the field).
   */
  constructor(config, { onCallbackError = rethrowAsync } = {}) {
    const raw = jsonBuffer(config, 'config');
    if (typeof onCallbackError !== 'function') throw new TypeError('onCallbackError must be a function');
    this._onCallbackError = onCallbackError;
    /** @type {Map<string, import('./tasks').Task>} */
    this._tasks = new Map();
    this._drainScheduled = false;
    this._keepalive = null;
    this._closing = false; // no new tasks
    this._freeing = false; // no more calls with the handle
    this._closePromise = null;
    this._idleWaiters = [];
    // Registered first: koffi has a bounded number of slots, and a failure after
    // wxnet_app_new would leak the native app.
    this._wake = koffi.register(() => this._scheduleDrain(), koffi.pointer(WakeCallback));
    const out = [null];
    try {
      check(native.wxnet_app_new(raw, raw.length, null, null, out), 'wxnet_app_new');
    } catch (err) {
      koffi.unregister(this._wake);
      throw err;
    }
    this._handle = out[0];
    try {
      check(native.wxnet_app_set_wakeup(this._handle, this._wake, null), 'wxnet_app_set_wakeup');
    } catch (err) {
      native.wxnet_app_free(this._handle); // no task yet: returns at once
      koffi.unregister(this._wake);
      throw err;
    }
    unfreed.add(this);
  }

  /** True once close() started. */
  get closed() {
    return this._closing;
  }

  /** Tasks started and not yet ended (a snapshot). */
  get liveTasks() {
    return [...this._tasks.values()];
  }

  /**
   * Starts a task from ready-made JSON text (used by the wx bridge and the helpers).
   * @param {'request'|'uploadFile'|'downloadFile'|'connectSocket'} api
   * @param {object|string} options the wx options (functions are dropped by JSON);
   *   `options.signal` (an AbortSignal, not sent) aborts the task when it fires.
   * @param {Buffer|ArrayBuffer|ArrayBufferView|null} [body] request only: binary data.
   * @returns {import('./tasks').Task}
   */
  start(api, options, body = null) {
    const spec = START[api];
    if (!spec) throw new TypeError(`unknown api ${JSON.stringify(api)}`);
    if (this._closing) throw new AppClosedError();
    if (body !== null && api !== 'request') throw new TypeError(`${api} takes no binary body`);
    let signal = null;
    if (options !== null && typeof options === 'object' && options.signal !== undefined) {
      ({ signal, ...options } = options); // an AbortSignal is not part of the wx options JSON
      if (!(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
      if (signal.aborted) throw signal.reason;
    }
    const raw = jsonBuffer(options, 'options');
    const out = [0];
    if (api === 'request') {
      const bytes = body === null ? null : asBinary(body);
      if (body !== null && bytes === null) throw new TypeError('body must be a Buffer, ArrayBuffer or typed array');
      check(native.wxnet_request(this._handle, raw, raw.length, bytes, bytes ? bytes.length : 0, null, out), spec.call);
    } else {
      check(native[spec.call](this._handle, raw, raw.length, null, out), spec.call);
    }
    const task = new spec.Task();
    task.id = out[0];
    this._tasks.set(String(task.id), task);
    this._updateKeepalive();
    if (signal) task._followSignal(signal);
    return task;
  }

  /**
   * Starts a wx.request. Binary `options.data` (Buffer, ArrayBuffer, typed array) is
   * moved out of the JSON and sent as is.
   * @param {object} options
   * @returns {RequestTask}
   */
  startRequest(options) {
    const { data, ...rest } = App._options(options);
    const body = asBinary(data);
    return this.start('request', body ? rest : options, body);
  }

  /** Starts a wx.uploadFile. @param {object} options @returns {UploadTask} */
  startUploadFile(options) {
    return this.start('uploadFile', App._options(options));
  }

  /** Starts a wx.downloadFile. @param {object} options @returns {DownloadTask} */
  startDownloadFile(options) {
    return this.start('downloadFile', App._options(options));
  }

  /**
   * Starts a wx.connectSocket. @param {object} options
   * @returns {SocketTask} an emitter: 'open', 'message', 'socketError', 'close'...
   */
  connectSocket(options) {
    return this.start('connectSocket', App._options(options));
  }

  /**
   * wx.request as a promise: the success res (data: object for dataKind json, string
   * for text, Buffer for arraybuffer), or a rejection with WxFail. With
   * `options.signal` (e.g. `AbortSignal.timeout(100)`) the task is aborted when the
   * signal fires and the promise rejects with `signal.reason`, once the task ended.
   * @param {object} options
   * @param {{onEvent?: (event: Event) => void}} [hooks] sees every event.
   */
  request(options, hooks = {}) {
    return App._run(this.startRequest(options), hooks);
  }

  /** wx.uploadFile as a promise (res.data is the response text). */
  uploadFile(options, hooks = {}) {
    return App._run(this.startUploadFile(options), hooks);
  }

  /** wx.downloadFile as a promise (res.tempFilePath or res.filePath). */
  downloadFile(options, hooks = {}) {
    return App._run(this.startDownloadFile(options), hooks);
  }

  /**
   * The real file path of one of this app's `wxfile://` paths (wxnet_app_resolve_path),
   * e.g. a download's tempFilePath, to show or hand to the OS. The file need not exist.
   * @param {string} vpath
   * @returns {string}
   * @throws {WxnetError} WXNET_E_INVALID_ARGUMENT for a path the sandbox refuses.
   */
  resolvePath(vpath) {
    return this._pathCall('wxnet_app_resolve_path', vpath);
  }

  /**
   * The `wxfile://` path of a real path inside this app's tempDir or userDataDir
   * (wxnet_app_virtual_path).
   * @param {string} realPath
   * @returns {string}
   * @throws {WxnetError} WXNET_E_INVALID_ARGUMENT for a path outside them.
   */
  virtualPath(realPath) {
    return this._pathCall('wxnet_app_virtual_path', realPath);
  }

  _pathCall(call, text) {
    if (typeof text !== 'string') throw new TypeError('path must be a string');
    this._requireOpen();
    const raw = Buffer.from(text, 'utf8');
    const out = [null];
    const len = [0];
    check(native[call](this._handle, raw, raw.length, out, len), call);
    try {
      return readBytes(out[0], Number(len[0])).toString('utf8');
    } finally {
      native.wxnet_string_free(out[0]); // the caller owns the string
    }
  }

  /**
   * wxnet_app_set_background: the app went to the background (true) or came back.
   * @param {boolean} background
   */
  setBackground(background) {
    if (typeof background !== 'boolean') throw new TypeError('background must be a boolean');
    this._requireOpen();
    check(native.wxnet_app_set_background(this._handle, background), 'wxnet_app_set_background');
  }

  /**
   * wxnet_app_reset_connections: the device's network changed (Wi-Fi to cellular, a VPN):
   * every pooled connection of the app is dropped and later requests connect anew.
   * Requests in flight finish on their connections; sockets, cookies and learned
   * Alt-Svc are kept. No event follows.
   */
  resetConnections() {
    this._requireOpen();
    check(native.wxnet_app_reset_connections(this._handle), 'wxnet_app_reset_connections');
  }

  /**
   * Frees the app; every live task gets exactly one terminal event first: the live
   * tasks are aborted and drained (up to `drainTimeoutMs`; poll mode would drop their
   * events inside wxnet_app_free), then wxnet_app_free runs on a worker thread.
   * Idempotent: later calls return the same promise.
   * @param {{drainTimeoutMs?: number}} [options]
   * @returns {Promise<void>}
   */
  close({ drainTimeoutMs = 5000 } = {}) {
    if (!this._closePromise) this._closePromise = this._close(drainTimeoutMs);
    return this._closePromise;
  }

  async _close(drainTimeoutMs) {
    this._closing = true;
    this._updateKeepalive();
    for (const task of this._tasks.values()) {
      try {
        task.abort();
      } catch (err) {
        this._report(err, `abort of ${task.api} task ${task.id} during close`);
      }
    }
    await this._whenIdle(drainTimeoutMs);
    this._freeing = true;
    unfreed.delete(this);
    const status = await new Promise((resolve, reject) => {
      native.wxnet_app_free.async(this._handle, (err, res) => (err ? reject(err) : resolve(res)));
    });
    koffi.unregister(this._wake);
    this._handle = null;
    const leftovers = [...this._tasks.values()];
    this._tasks.clear();
    this._updateKeepalive();
    for (const task of leftovers) this._deliver(task, App._abortEvent(task));
    // The detail (wxnet_last_error) is thread-local to the worker: only the status here.
    if (status !== 0) throw new WxnetError(status, '', 'wxnet_app_free');
  }

  // -- internals -------------------------------------------------------------------

  static _options(options) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('options must be an object');
    }
    return options;
  }

  static async _run(task, { onEvent } = {}) {
    if (onEvent) task.on('event', onEvent);
    return task.result();
  }

  /** The terminal event the library would have given an aborted task. */
  static _abortEvent(task) {
    if (task instanceof SocketTask) return new Event(task.id, EventKind.SOCKET_CLOSE, '{"code":1000,"reason":"app closed"}', null);
    const errno = task instanceof DownloadTask ? 603105 : 1;
    return new Event(task.id, EventKind.FAIL, JSON.stringify({ errMsg: `${task.api}:fail abort`, errno }), null);
  }

  /**
   * A worker's 'exit' handler: frees the native app without waiting (Node waits for
   * the libuv work before it tears the worker down). No event is delivered any more.
   */
  _freeAtExit() {
    unfreed.delete(this);
    this._closing = true;
    this._freeing = true;
    native.wxnet_app_free.async(this._handle, () => {});
  }

  _requireOpen() {
    if (this._closing) throw new AppClosedError();
  }

  _whenIdle(timeoutMs) {
    if (this._tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this._idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  _updateKeepalive() {
    const needed = this._tasks.size > 0 || (this._closing && this._handle !== null);
    if (needed && !this._keepalive) {
      this._keepalive = setInterval(() => {}, 1 << 30);
    } else if (!needed && this._keepalive) {
      clearInterval(this._keepalive);
      this._keepalive = null;
    }
  }

  /** The wakeup hook's body (main thread): schedule one drain. */
  _scheduleDrain() {
    if (this._drainScheduled || this._freeing) return;
    this._drainScheduled = true;
    setImmediate(() => this._drain());
  }

  _drain() {
    this._drainScheduled = false;
    for (let i = 0; i < DRAIN_BATCH; i++) {
      if (this._freeing) return;
      const out = [null];
      const status = native.wxnet_app_poll(this._handle, 0, out);
      if (status !== 0) {
        this._report(new WxnetError(status, native.wxnet_last_error() || '', 'wxnet_app_poll'), 'drain');
        return;
      }
      if (!out[0]) return; // empty: the next push calls the wakeup hook again
      let event;
      try {
        event = Event.fromPointer(out[0]);
      } finally {
        native.wxnet_event_free(out[0]);
      }
      this._route(event);
    }
    this._scheduleDrain(); // more may be queued: no wakeup comes for a non-empty queue
  }

  _route(event) {
    const key = String(event.task);
    const task = this._tasks.get(key);
    if (!task) {
      this._report(new Error(`event ${event.kindName} for unknown task ${event.task}`), 'drain');
      return;
    }
    const terminal = task.isTerminal(event);
    if (terminal) this._tasks.delete(key); // first: its 'done' listeners see it gone
    this._deliver(task, event);
    if (terminal) {
      this._updateKeepalive();
      if (this._tasks.size === 0) for (const wake of this._idleWaiters.splice(0)) wake();
    }
  }

  /** Delivers to a task; listener exceptions go to the onCallbackError hook. */
  _deliver(task, event) {
    try {
      task._deliver(event);
    } catch (err) {
      this._report(err, `listener of ${task.api} task ${task.id}`);
    }
  }

  _report(err, where) {
    try {
      this._onCallbackError(err, where);
    } catch (hookErr) {
      rethrowAsync(hookErr);
    }
  }
}

module.exports = { App };
