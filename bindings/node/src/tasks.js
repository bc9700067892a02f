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
const { check, WxFail } = require('./errors');
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
    if (event.kind === EventKind.FAIL) throw new WxFail(event.res);
    return successRes(event, true);
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
    if (event.kind === EventKind.FAIL) throw new WxFail(event.res);
    return successRes(event, false);
  }
}

/**
 * A wx.connectSocket, as an event emitter: 'connected' (the connectSocket:ok res),
 * 'open' (res), 'message' (string for text frames, Buffer for binary ones),
 * 'socketError' (res: not named 'error', so an unhandled one never throws), 'close'
 * ({code, reason}), 'fail' ({@link WxFail}: the call was rejected).
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
    if (event.kind === EventKind.FAIL) throw new WxFail(event.res);
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
      case EventKind.SOCKET_ERROR: emit('socketError', event.res); break;
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
