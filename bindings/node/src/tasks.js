'use strict';
/**
 * Task objects: one per started request, upload, download or socket. Each is an
 * EventEmitter fed on the Node main thread, in order. A task stays registered in its
 * App (so reachable, with its listeners) until its terminal event: SUCCESS/FAIL for
 * requests, uploads and downloads; FAIL or SOCKET_CLOSE for sockets.
 *
 * Events emitted by every task: 'event' (every {@link Event}) and 'done' (the terminal
 * Event). Listener exceptions go to the App's `onCallbackError` hook.
 * @module wxnet/tasks
 */

const { EventEmitter } = require('node:events');
const { native } = require('./library');
const { check, WxFail, SocketOverflowError } = require('./errors');
const { EventKind, successRes } = require('./event');

/** Base of all tasks; created by the App's start methods. */
class Task extends EventEmitter {
  /** @param {'request'|'uploadFile'|'downloadFile'|'connectSocket'} api */
  constructor(api) {
    super();
    /** @type {string} */
    this.api = api;
    /** @type {number|bigint} the library's task id (set once started). */
    this.id = 0;
    /** @type {import('./event').Event|null} */
    this.terminalEvent = null;
    this._waiters = [];
    /** @type {AbortSignal|null} */
    this._signal = null;
  }

  /** True once the terminal event was delivered. */
  get done() {
    return this.terminalEvent !== null;
  }

  /** @param {import('./event').Event} event */
  isTerminal(event) {
    return event.kind === EventKind.SUCCESS || event.kind === EventKind.FAIL;
  }

  /**
   * Aborts the task: it ends with FAIL `…:fail abort` unless it already ended. A no-op
   * once the terminal event was delivered. Never blocks.
   */
  abort() {
    if (this.done) return;
    check(native.wxnet_task_abort(this.id), 'wxnet_task_abort');
  }

  /**
   * The terminal event.
   * @returns {Promise<import('./event').Event>}
   */
  wait() {
    if (this.terminalEvent) return Promise.resolve(this.terminalEvent);
    return new Promise((resolve) => this._waiters.push(resolve));
  }

  /**
   * The wx success res (data decoded per dataKind), or a rejection with {@link WxFail}.
   * @returns {Promise<object>}
   */
  async result() {
    return this.resOf(await this.wait());
  }

  /** @param {import('./event').Event} event a terminal event. */
  resOf(event) {
    this._throwIfFailed(event);
    return successRes(event, true);
  }

  /** Throws for a FAIL event: the signal's reason when an AbortSignal aborted the task. */
  _throwIfFailed(event) {
    if (event.kind !== EventKind.FAIL) return;
    if (this._signal && this._signal.aborted) throw this._signal.reason;
    throw new WxFail(event.res);
  }

  /** Aborts this task when `signal` fires (App.start, for `options.signal`). */
  _followSignal(signal) {
    this._signal = signal;
    const onAbort = () => {
      if (!this.done) this.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.once('done', () => signal.removeEventListener('abort', onAbort));
  }

  /**
   * Called by the App for each event; emits the named events. Returns true for the
   * terminal one. Listener exceptions propagate to the App, after the state update.
   * @param {import('./event').Event} event
   */
  _deliver(event) {
    const terminal = this.isTerminal(event);
    if (terminal) this.terminalEvent = event;
    const errors = [];
    const emit = (...args) => {
      try {
        this.emit(...args);
      } catch (err) {
        errors.push(err);
      }
    };
    emit('event', event);
    this._emitNamed(event, emit);
    if (terminal) {
      emit('done', event);
      for (const resolve of this._waiters.splice(0)) resolve(event);
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} listeners of ${this.api} task ${this.id} threw`);
    return terminal;
  }

  /** Emits the kind-specific event; overridden per task type. */
  _emitNamed(event, emit) {
    if (event.kind === EventKind.HEADERS_RECEIVED) emit('headersReceived', event.res);
    else if (event.kind === EventKind.PROGRESS) emit('progress', event.res);
  }
}

/** A wx.request. Extra events: 'headersReceived' (res), 'chunkReceived' (Buffer). */
class RequestTask extends Task {
  constructor() {
    super('request');
  }

  _emitNamed(event, emit) {
    if (event.kind === EventKind.CHUNK_RECEIVED) emit('chunkReceived', event.data || Buffer.alloc(0));
    else super._emitNamed(event, emit);
  }
}

/** A wx.uploadFile. Extra events: 'progress' (res), 'headersReceived' (res). */
class UploadTask extends Task {
  constructor() {
    super('uploadFile');
  }
}

/** A wx.downloadFile. Extra events: 'progress' (res), 'headersReceived' (res). */
class DownloadTask extends Task {
  constructor() {
    super('downloadFile');
  }

  resOf(event) {
    this._throwIfFailed(event);
    return successRes(event, false);
  }
}

/**
 * A wx.connectSocket, as an event emitter: 'connected' (the connectSocket:ok res),
 * 'open' (res), 'message' (string for text frames, Buffer for binary ones), 'error'
 * (an Error with `.res` = {errMsg}; emitted only while someone listens, so a socket
 * error never crashes a process that does not handle it), 'socketError' (the same res,
 * always), 'close' ({code, reason}), 'fail' ({@link WxFail}: the call was rejected).
 *
 * It is also an async iterable of its messages: `for await (const message of socket)`
 * ends when the socket closes (throws WxFail when the call was rejected); leaving the
 * loop early (break/throw) closes the socket. Messages that arrived before the loop
 * started went to 'message' listeners only. The buffer of messages not taken yet is
 * bounded: see {@link SocketTask#messages} for the limits and the overflow.
 */
class SocketTask extends Task {
  constructor() {
    super('connectSocket');
    this._openRes = null;
  }

  isTerminal(event) {
    return event.kind === EventKind.FAIL || event.kind === EventKind.SOCKET_CLOSE;
  }

  resOf(event) {
    this._throwIfFailed(event);
    return event.res;
  }

  _emitNamed(event, emit) {
    switch (event.kind) {
      case EventKind.SUCCESS: emit('connected', event.res); break;
      case EventKind.FAIL: emit('fail', new WxFail(event.res)); break;
      case EventKind.SOCKET_OPEN: this._openRes = event.res; emit('open', event.res); break;
      case EventKind.SOCKET_MESSAGE: {
        const data = event.data || Buffer.alloc(0);
        emit('message', event.res.dataKind === 'text' ? data.toString('utf8') : data);
        break;
      }
      case EventKind.SOCKET_ERROR:
        emit('socketError', event.res);
        if (this.listenerCount('error') > 0) emit('error', Object.assign(new Error(event.res.errMsg), { res: event.res }));
        break;
      case EventKind.SOCKET_CLOSE: emit('close', event.res); break;
      default: break;
    }
  }

  /**
   * Resolves with the open res once the socket is open; rejects with {@link WxFail}
   * when the call is rejected, or with an Error when it closes before opening.
   * @returns {Promise<object>}
   */
  opened() {
    if (this._openRes) return Promise.resolve(this._openRes);
    const closedEarly = (res) => Object.assign(new Error(`socket closed before opening: ${res.code} ${res.reason}`), { close: res });
    if (this.done) {
      const end = this.terminalEvent;
      return Promise.reject(end.kind === EventKind.FAIL ? new WxFail(end.res) : closedEarly(end.res));
    }
    return new Promise((resolve, reject) => {
      const onEvent = (event) => {
        if (event.kind === EventKind.SOCKET_OPEN) {
          this.off('event', onEvent);
          resolve(event.res);
        } else if (event.kind === EventKind.FAIL) {
          this.off('event', onEvent);
          reject(new WxFail(event.res));
        } else if (event.kind === EventKind.SOCKET_CLOSE) {
          this.off('event', onEvent);
          reject(closedEarly(event.res));
        }
      };
      this.on('event', onEvent);
    });
  }

  /**
   * The messages until the socket closes, as an async iterator, for the default limits.
   * Same as `this.messages()`.
   * @returns {AsyncIterableIterator<string|Buffer>}
   */
  [Symbol.asyncIterator]() {
    return this.messages();
  }

  /**
   * The messages (string for text frames, Buffer for binary ones) from now until the
   * socket closes, as an async iterator (`for await (const m of socket.messages(...))`).
   * It ends at the close, throws {@link WxFail} when the call was rejected; leaving the
   * loop early (break/throw) closes the socket.
   *
   * Bounded: at most `maxBufferedMessages` messages and `maxBufferedBytes` payload bytes
   * (UTF-8 bytes for text) wait for the consumer; a single message larger than
   * `maxBufferedBytes` is admitted when nothing waits. A message beyond the limits
   * aborts the socket (`wxnet_task_abort`: it ends with a close, code 1000; listeners
   * still see every event) and is not buffered, nor is anything after it: the iterator
   * yields the messages buffered before it, then throws {@link SocketOverflowError}.
   * @param {object} [options]
   * @param {number} [options.maxBufferedMessages=4096] an integer >= 1.
   * @param {number} [options.maxBufferedBytes=16777216] an integer >= 1 (16 MiB).
   * @returns {AsyncIterableIterator<string|Buffer>}
   * @throws {TypeError} when options is not an object or a limit is not an integer.
   * @throws {RangeError} when a limit is < 1.
   */
  messages(options = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
    const { maxBufferedMessages = 4096, maxBufferedBytes = 16 * 1024 * 1024 } = options;
    for (const [name, value] of [['maxBufferedMessages', maxBufferedMessages], ['maxBufferedBytes', maxBufferedBytes]]) {
      if (!Number.isInteger(value)) throw new TypeError(`${name} must be an integer, not ${value}`);
      if (value < 1) throw new RangeError(`${name} must be >= 1, not ${value}`);
    }
    /** @type {{value: string|Buffer, bytes: number}[]} messages not taken yet */
    const queue = [];
    let queuedBytes = 0;
    let waiter = null;
    let ended = this.done;
    let failure = this.done && this.terminalEvent.kind === EventKind.FAIL ? new WxFail(this.terminalEvent.res) : null;
    let overflowed = false;
    const wake = () => {
      if (waiter) {
        const resolve = waiter;
        waiter = null;
        resolve();
      }
    };
    const onEvent = (event) => {
      if (event.kind === EventKind.SOCKET_MESSAGE) {
        const data = event.data || Buffer.alloc(0);
        const bytes = data.length;
        if (queue.length > 0 && (queue.length + 1 > maxBufferedMessages || queuedBytes + bytes > maxBufferedBytes)) {
          // Overflow: stop buffering, end the stream with the error, abort the socket.
          overflowed = true;
          ended = true;
          failure = new SocketOverflowError({ messages: queue.length, bytes: queuedBytes, maxBufferedMessages, maxBufferedBytes });
          this.off('event', onEvent);
          wake();
          this.abort();
          return;
        }
        queue.push({ value: event.res.dataKind === 'text' ? data.toString('utf8') : data, bytes });
        queuedBytes += bytes;
      } else if (this.isTerminal(event)) {
        ended = true;
        if (event.kind === EventKind.FAIL) failure = new WxFail(event.res);
      }
      wake();
    };
    if (!ended) this.on('event', onEvent);
    const finish = () => {
      this.off('event', onEvent);
      ended = true;
    };
    return {
      next: async () => {
        for (;;) {
          if (queue.length) {
            const { value, bytes } = queue.shift();
            queuedBytes -= bytes;
            return { value, done: false };
          }
          if (ended) {
            finish();
            if (failure) {
              const err = failure;
              failure = null;
              throw err;
            }
            return { value: undefined, done: true };
          }
          await new Promise((resolve) => {
            waiter = resolve;
          });
        }
      },
      return: async () => {
        // An overflowed stream already aborted its socket.
        const open = !this.done && !overflowed;
        finish();
        if (open) this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Sends a text frame (string) or a binary frame (Buffer, ArrayBuffer, typed array).
   * @param {string|Buffer|ArrayBuffer|ArrayBufferView} data
   * @throws {WxnetError} WXNET_E_INVALID_STATE when the socket is not open.
   * @throws {TypeError} for any other type of data.
   */
  send(data) {
    let bytes;
    let binary = true;
    if (typeof data === 'string') {
      bytes = Buffer.from(data, 'utf8');
      binary = false;
    } else if (data instanceof ArrayBuffer) {
      bytes = Buffer.from(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    } else {
      throw new TypeError(`socket data must be a string or binary, not ${typeof data}`);
    }
    check(native.wxnet_socket_send(this.id, bytes, bytes.length, binary), 'wxnet_socket_send');
  }

  /**
   * Closes the socket (also before it opened). A 'close' event follows.
   * @param {number} [code=1000] 1000 or 3000-4999.
   * @param {string} [reason=''] at most 123 UTF-8 bytes.
   * @throws {WxnetError} WXNET_E_INVALID_ARGUMENT for a bad code or reason.
   */
  close(code = 1000, reason = '') {
    if (!Number.isInteger(code)) throw new TypeError(`close code must be an integer, not ${code}`);
    if (typeof reason !== 'string') throw new TypeError('close reason must be a string');
    const raw = Buffer.from(reason, 'utf8');
    check(native.wxnet_socket_close(this.id, code, raw, raw.length), 'wxnet_socket_close');
  }
}

module.exports = { Task, RequestTask, UploadTask, DownloadTask, SocketTask };
