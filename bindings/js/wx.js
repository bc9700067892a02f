/*
 * wxnet reference wx layer: the wx network API (wx.request, wx.uploadFile,
 * wx.downloadFile, wx.connectSocket and the legacy global socket functions) exactly
 * as mini-program code sees it, on top of a small native bridge.
 *
 * Plain ECMAScript 2017, no host APIs: it runs in Node, QuickJS or JavaScriptCore.
 * Loading: CommonJS (`require('./wx.js').createWx`) or as a classic script, which
 * defines the global `wxnetJs` ({createWx, EventKind}). The bridge interface is
 * documented in README.md beside this file.
 */
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module === 'object' && module && module.exports) {
    module.exports = api;
  } else {
    root.wxnetJs = api;
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  /** Event kinds, the numbers of the C ABI (WXNET_EVENT_*). */
  var EventKind = Object.freeze({
    SUCCESS: 1,
    FAIL: 2,
    HEADERS_RECEIVED: 3,
    PROGRESS: 4,
    CHUNK_RECEIVED: 5,
    SOCKET_OPEN: 10,
    SOCKET_MESSAGE: 11,
    SOCKET_ERROR: 12,
    SOCKET_CLOSE: 13,
  });

  /** errno of a parameter error (spec errno table). */
  var ERRNO_PARAMETER = 1001;
  /** errno of an unknown network error: used when the bridge refuses a start. */
  var ERRNO_UNKNOWN = 600000;

  // -- small helpers ------------------------------------------------------------------

  function isFunction(f) {
    return typeof f === 'function';
  }

  /** Realm-safe ArrayBuffer test (code may come from another realm or vm context). */
  function isArrayBuffer(x) {
    return Object.prototype.toString.call(x) === '[object ArrayBuffer]';
  }

  /** ArrayBuffer or a view of one: returns an ArrayBuffer holding exactly its bytes. */
  function toArrayBuffer(x) {
    if (isArrayBuffer(x)) return x;
    if (ArrayBuffer.isView(x)) return x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength);
    return null;
  }

  /** UTF-8 bytes to a string: TextDecoder when the engine has one, else by hand. */
  function utf8Decode(buffer) {
    var bytes = new Uint8Array(buffer);
    if (typeof TextDecoder === 'function') return new TextDecoder('utf-8').decode(bytes);
    var out = '';
    var units = [];
    for (var i = 0; i < bytes.length;) {
      var b = bytes[i];
      var cp;
      var extra;
      if (b < 0x80) { cp = b; extra = 0; }
      else if (b >= 0xc2 && b < 0xe0) { cp = b & 0x1f; extra = 1; }
      else if (b >= 0xe0 && b < 0xf0) { cp = b & 0x0f; extra = 2; }
      else if (b >= 0xf0 && b < 0xf5) { cp = b & 0x07; extra = 3; }
      else { cp = 0xfffd; extra = 0; }
      var j = 1;
      for (; j <= extra; j++) {
        var c = bytes[i + j];
        if (c === undefined || (c & 0xc0) !== 0x80) break;
        cp = (cp << 6) | (c & 0x3f);
      }
      if (j <= extra) { cp = 0xfffd; i += j; } else { i += extra + 1; }
      if (cp > 0xffff) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else {
        units.push(cp);
      }
      if (units.length >= 8192) { out += String.fromCharCode.apply(null, units); units = []; }
    }
    return out + String.fromCharCode.apply(null, units);
  }

  /** A payload as a string (bridges may hand text payloads over as strings already). */
  function payloadText(data) {
    if (data === null || data === undefined) return '';
    if (typeof data === 'string') return data;
    return utf8Decode(data);
  }

  /** A payload as an ArrayBuffer. */
  function payloadBuffer(data) {
    if (data === null || data === undefined) return new ArrayBuffer(0);
    var ab = toArrayBuffer(data);
    if (ab) return ab;
    throw new TypeError('the bridge delivered a binary payload that is not an ArrayBuffer');
  }

  /** Runs microtask-later (no timers needed: every engine has promises). */
  function defer(fn) {
    Promise.resolve().then(fn);
  }

  /** A set of listeners with wx's off semantics (off() without a callback clears all). */
  function Listeners() {
    this.list = [];
  }
  Listeners.prototype.add = function (cb, name) {
    if (!isFunction(cb)) throw new TypeError(name + ': callback must be a function');
    this.list.push(cb);
  };
  Listeners.prototype.remove = function (cb) {
    if (cb === undefined) { this.list = []; return; }
    var i = this.list.indexOf(cb);
    if (i >= 0) this.list.splice(i, 1);
  };
  Listeners.prototype.emit = function (res, calls) {
    var list = this.list.slice();
    for (var i = 0; i < list.length; i++) calls.push([list[i], res]);
  };

  /**
   * Creates a `wx` object bound to a bridge.
   * @param {object} bridge see README.md: start(api, optionsJson, body, sink) -> id,
   *   abort(id), socketSend(id, data), socketClose(id, code, reason).
   * @param {{onCallbackError?: function(Error): void}} [hooks] where exceptions
   *   thrown by mini-program callbacks go; by default the first one is rethrown
   *   (out of the bridge's sink call) after all callbacks of that event ran.
   * @returns {object} the wx object.
   */
  function createWx(bridge, hooks) {
    if (!bridge || !isFunction(bridge.start) || !isFunction(bridge.abort) ||
        !isFunction(bridge.socketSend) || !isFunction(bridge.socketClose)) {
      throw new TypeError('createWx: the bridge needs start, abort, socketSend and socketClose functions');
    }
    var onCallbackError = hooks && isFunction(hooks.onCallbackError) ? hooks.onCallbackError : null;

    /** Calls each [fn, arg] pair; a throwing callback does not stop the others. */
    function runCalls(calls) {
      var firstError = null;
      for (var i = 0; i < calls.length; i++) {
        try {
          calls[i][0](calls[i][1]);
        } catch (err) {
          if (onCallbackError) onCallbackError(err);
          else if (firstError === null) firstError = err;
        }
      }
      if (firstError !== null) throw firstError;
    }

    /** The success/fail + complete pair of an options object, in wx order. */
    function resultCalls(options, ok, res) {
      var calls = [];
      var main = ok ? options.success : options.fail;
      if (isFunction(main)) calls.push([main, res]);
      if (isFunction(options.complete)) calls.push([options.complete, res]);
      return calls;
    }

    function checkOptions(name, options) {
      if (options === undefined || options === null) return {};
      if (typeof options !== 'object') throw new TypeError('wx.' + name + ': options must be an object');
      return options;
    }

    /** The options as JSON for the library (functions are dropped by JSON). */
    function optionsJson(options, skipData) {
      var copy = {};
      for (var key in options) {
        if (!Object.prototype.hasOwnProperty.call(options, key)) continue;
        if (skipData && key === 'data') continue;
        if (!isFunction(options[key])) copy[key] = options[key];
      }
      return JSON.stringify(copy);
    }

    /**
     * Starts a task on the bridge; on refusal (a thrown error, e.g. options that do
     * not serialize or a closed app) the task fails asynchronously like wx would.
     * Returns the id, or null when refused.
     */
    function startTask(api, options, body, skipData, sink) {
      var json;
      try {
        json = optionsJson(options, skipData);
      } catch (err) {
        failLater(api, options, 'parameter error: ' + err.message, ERRNO_PARAMETER);
        return null;
      }
      try {
        return bridge.start(api, json, body, sink);
      } catch (err) {
        failLater(api, options, err && err.message ? err.message : String(err), ERRNO_UNKNOWN);
        return null;
      }
    }

    function failLater(api, options, reason, errno) {
      var res = { errMsg: api + ':fail ' + reason, errno: errno };
      defer(function () {
        runCalls(resultCalls(options, false, res));
      });
    }

    // -- request / upload / download tasks ----------------------------------------

    /** Shared base of RequestTask, UploadTask and DownloadTask. */
    function TransferTask(api) {
      this._api = api;
      this._id = null;
      this._ended = false;
      this._headers = new Listeners();
      this._progress = new Listeners();
      this._chunks = new Listeners();
    }
    /** Aborts the task: fail `<api>:fail abort`, unless it already ended. */
    TransferTask.prototype.abort = function () {
      if (this._ended || this._id === null) return;
      bridge.abort(this._id);
    };
    TransferTask.prototype.onHeadersReceived = function (cb) { this._headers.add(cb, 'onHeadersReceived'); };
    TransferTask.prototype.offHeadersReceived = function (cb) { this._headers.remove(cb); };

    /** Builds the sink of one transfer task (the bridge calls it per event). */
    function transferSink(task, options, successRes) {
      return function (kind, json, data) {
        if (task._ended) return;
        var calls = [];
        var res = JSON.parse(json);
        switch (kind) {
          case EventKind.HEADERS_RECEIVED: task._headers.emit(res, calls); break;
          case EventKind.PROGRESS: task._progress.emit(res, calls); break;
          case EventKind.CHUNK_RECEIVED: task._chunks.emit({ data: payloadBuffer(data) }, calls); break;
          case EventKind.SUCCESS:
            task._ended = true;
            calls = resultCalls(options, true, successRes(res, data));
            break;
          case EventKind.FAIL:
            task._ended = true;
            calls = resultCalls(options, false, res);
            break;
          default:
            throw new Error('wx.' + task._api + ': unexpected event kind ' + kind);
        }
        runCalls(calls);
      };
    }

    function RequestTask() { TransferTask.call(this, 'request'); }
    RequestTask.prototype = Object.create(TransferTask.prototype);
    RequestTask.prototype.constructor = RequestTask;
    RequestTask.prototype.onChunkReceived = function (cb) { this._chunks.add(cb, 'onChunkReceived'); };
    RequestTask.prototype.offChunkReceived = function (cb) { this._chunks.remove(cb); };

    function UploadTask() { TransferTask.call(this, 'uploadFile'); }
    UploadTask.prototype = Object.create(TransferTask.prototype);
    UploadTask.prototype.constructor = UploadTask;
    UploadTask.prototype.onProgressUpdate = function (cb) { this._progress.add(cb, 'onProgressUpdate'); };
    UploadTask.prototype.offProgressUpdate = function (cb) { this._progress.remove(cb); };

    function DownloadTask() { TransferTask.call(this, 'downloadFile'); }
    DownloadTask.prototype = Object.create(TransferTask.prototype);
    DownloadTask.prototype.constructor = DownloadTask;
    DownloadTask.prototype.onProgressUpdate = function (cb) { this._progress.add(cb, 'onProgressUpdate'); };
    DownloadTask.prototype.offProgressUpdate = function (cb) { this._progress.remove(cb); };

    /** request SUCCESS: data per dataKind ("json" parsed, "text" string, else ArrayBuffer). */
    function requestSuccess(res, data) {
      var kind = res.dataKind;
      delete res.dataKind;
      if (kind === 'arraybuffer') res.data = payloadBuffer(data);
      else if (kind === 'json') res.data = JSON.parse(payloadText(data));
      else res.data = payloadText(data);
      return res;
    }

    /** uploadFile SUCCESS: data is the response text. */
    function uploadSuccess(res, data) {
      res.data = payloadText(data);
      return res;
    }

    function downloadSuccess(res) {
      return res;
    }

    var wx = {};

    /** wx.env: USER_DATA_PATH is the user data directory (wxfile://usr). */
    wx.env = Object.freeze({ USER_DATA_PATH: 'wxfile://usr' });

    /**
     * wx.request(options) -> RequestTask. ArrayBuffer (or typed array) `data` goes to
     * the bridge as the binary body; everything else is the library's business.
     */
    wx.request = function (options) {
      options = checkOptions('request', options);
      var task = new RequestTask();
      var body = options.data === undefined ? null : toArrayBuffer(options.data);
      task._id = startTask('request', options, body, body !== null, transferSink(task, options, requestSuccess));
      if (task._id === null) task._ended = true;
      return task;
    };

    /** wx.uploadFile(options) -> UploadTask. */
    wx.uploadFile = function (options) {
      options = checkOptions('uploadFile', options);
      var task = new UploadTask();
      task._id = startTask('uploadFile', options, null, false, transferSink(task, options, uploadSuccess));
      if (task._id === null) task._ended = true;
      return task;
    };

    /** wx.downloadFile(options) -> DownloadTask. */
    wx.downloadFile = function (options) {
      options = checkOptions('downloadFile', options);
      var task = new DownloadTask();
      task._id = startTask('downloadFile', options, null, false, transferSink(task, options, downloadSuccess));
      if (task._id === null) task._ended = true;
      return task;
    };

    // -- sockets -----------------------------------------------------------------

    /** The legacy global handlers (wx.onSocketOpen...), bound to the latest socket. */
    var legacy = { open: null, message: null, error: null, close: null };
    var currentSocket = null;

    /** SocketTask.readyState values (as in WeChat and the WebSocket API). */
    var CONNECTING = 0;
    var OPEN = 1;
    var CLOSING = 2;
    var CLOSED = 3;

    function SocketTask() {
      this._id = null;
      this.readyState = CONNECTING;
      this._open = new Listeners();
      this._message = new Listeners();
      this._error = new Listeners();
      this._close = new Listeners();
    }
    SocketTask.CONNECTING = SocketTask.prototype.CONNECTING = CONNECTING;
    SocketTask.OPEN = SocketTask.prototype.OPEN = OPEN;
    SocketTask.CLOSING = SocketTask.prototype.CLOSING = CLOSING;
    SocketTask.CLOSED = SocketTask.prototype.CLOSED = CLOSED;
    SocketTask.prototype.onOpen = function (cb) { this._open.add(cb, 'SocketTask.onOpen'); };
    SocketTask.prototype.onMessage = function (cb) { this._message.add(cb, 'SocketTask.onMessage'); };
    SocketTask.prototype.onError = function (cb) { this._error.add(cb, 'SocketTask.onError'); };
    SocketTask.prototype.onClose = function (cb) { this._close.add(cb, 'SocketTask.onClose'); };

    /**
     * SocketTask.send({data, success, fail, complete}): a string is a text frame, an
     * ArrayBuffer a binary one. Callbacks run asynchronously (errMsg
     * "sendSocketMessage:ok" / "sendSocketMessage:fail <reason>").
     */
    SocketTask.prototype.send = function (options) {
      options = checkOptions('SocketTask.send', options);
      var data = options.data;
      var payload = typeof data === 'string' ? data : toArrayBuffer(data);
      var self = this;
      socketCall('sendSocketMessage', options, function () {
        if (payload === null) throw new Error('parameter error: parameter.data should be String or ArrayBuffer');
        if (self._id === null || self.readyState !== OPEN) throw new Error('WebSocket is not connected');
        bridge.socketSend(self._id, payload);
      });
    };

    /**
     * SocketTask.close({code, reason, success, fail, complete}); also before the
     * socket opened. onClose fires when it is closed.
     */
    SocketTask.prototype.close = function (options) {
      options = checkOptions('SocketTask.close', options);
      var self = this;
      socketCall('closeSocket', options, function () {
        if (self._id === null || self.readyState === CLOSED) throw new Error('WebSocket is not connected');
        var code = options.code === undefined ? 1000 : options.code;
        var reason = options.reason === undefined ? '' : options.reason;
        if (typeof code !== 'number' || typeof reason !== 'string') {
          throw new Error('parameter error: code should be Number and reason String');
        }
        bridge.socketClose(self._id, code, reason);
        if (self.readyState !== CLOSED) self.readyState = CLOSING;
      });
    };

    /** Runs a socket operation now; its callbacks later, with `<name>:ok|fail`. */
    function socketCall(name, options, operation) {
      var res;
      var ok = true;
      try {
        operation();
        res = { errMsg: name + ':ok' };
      } catch (err) {
        ok = false;
        res = { errMsg: name + ':fail ' + (err && err.message ? err.message : String(err)) };
      }
      defer(function () {
        runCalls(resultCalls(options, ok, res));
      });
    }

    function socketSink(task, options) {
      var ended = false;
      return function (kind, json, data) {
        if (ended) return;
        var res = JSON.parse(json);
        var calls = [];
        var isCurrent = currentSocket === task;
        var global = null;
        switch (kind) {
          case EventKind.SUCCESS:
            calls = resultCalls(options, true, res);
            break;
          case EventKind.FAIL:
            ended = true;
            task.readyState = CLOSED;
            calls = resultCalls(options, false, res);
            break;
          case EventKind.SOCKET_OPEN:
            task.readyState = OPEN;
            task._open.emit(res, calls);
            global = legacy.open;
            break;
          case EventKind.SOCKET_MESSAGE:
            res = { data: res.dataKind === 'text' ? payloadText(data) : payloadBuffer(data) };
            task._message.emit(res, calls);
            global = legacy.message;
            break;
          case EventKind.SOCKET_ERROR:
            task._error.emit(res, calls);
            global = legacy.error;
            break;
          case EventKind.SOCKET_CLOSE:
            ended = true;
            task.readyState = CLOSED;
            task._close.emit(res, calls);
            global = legacy.close;
            break;
          default:
            throw new Error('wx.connectSocket: unexpected event kind ' + kind);
        }
        if (isCurrent && global) calls.push([global, res]);
        runCalls(calls);
      };
    }

    /**
     * wx.connectSocket(options) -> SocketTask. The new task becomes the one the
     * legacy global functions (wx.onSocketOpen, wx.sendSocketMessage...) act on.
     */
    wx.connectSocket = function (options) {
      options = checkOptions('connectSocket', options);
      var task = new SocketTask();
      task._id = startTask('connectSocket', options, null, false, socketSink(task, options));
      if (task._id === null) {
        task.readyState = CLOSED;
      } else {
        currentSocket = task;
      }
      return task;
    };

    function legacySetter(slot, name) {
      return function (cb) {
        if (!isFunction(cb)) throw new TypeError('wx.' + name + ': callback must be a function');
        legacy[slot] = cb;
      };
    }

    /** wx.onSocketOpen(cb): the latest socket's open (replaces the previous cb). */
    wx.onSocketOpen = legacySetter('open', 'onSocketOpen');
    /** wx.onSocketMessage(cb): the latest socket's messages ({data}). */
    wx.onSocketMessage = legacySetter('message', 'onSocketMessage');
    /** wx.onSocketError(cb): the latest socket's errors ({errMsg}). */
    wx.onSocketError = legacySetter('error', 'onSocketError');
    /** wx.onSocketClose(cb): the latest socket's close ({code, reason}). */
    wx.onSocketClose = legacySetter('close', 'onSocketClose');

    /** wx.sendSocketMessage({data, ...}) on the latest socket. */
    wx.sendSocketMessage = function (options) {
      options = checkOptions('sendSocketMessage', options);
      if (currentSocket === null) {
        socketCall('sendSocketMessage', options, function () { throw new Error('WebSocket is not connected'); });
        return;
      }
      currentSocket.send(options);
    };

    /** wx.closeSocket({code, reason, ...}) on the latest socket. */
    wx.closeSocket = function (options) {
      options = checkOptions('closeSocket', options);
      if (currentSocket === null) {
        socketCall('closeSocket', options, function () { throw new Error('WebSocket is not connected'); });
        return;
      }
      currentSocket.close(options);
    };

    return wx;
  }

  return { createWx: createWx, EventKind: EventKind };
});
