'use strict';
/**
 * Errors of the Node binding.
 *
 * - {@link WxnetError}: a C call returned a negative `wxnet_status` (API misuse).
 * - {@link WxFail}: a wx-level failure (a FAIL event): `errMsg` and `errno`, exactly as
 *   mini-program code sees them.
 * - {@link SocketOverflowError}: a socket's message stream outgrew its bounds (the
 *   consumer did not keep up); the socket was aborted.
 * @module wxnet/errors
 */

const { native } = require('./library');

/** Status numbers and their `code` names (WXNET_E_*). */
const STATUS_CODES = Object.freeze({
  [-1]: 'WXNET_E_NULL_ARGUMENT',
  [-2]: 'WXNET_E_INVALID_ARGUMENT',
  [-3]: 'WXNET_E_INVALID_CONFIG',
  [-4]: 'WXNET_E_UNKNOWN_TASK',
  [-5]: 'WXNET_E_INVALID_STATE',
  [-6]: 'WXNET_E_WRONG_MODE',
  [-7]: 'WXNET_E_WOULD_DEADLOCK',
  [-8]: 'WXNET_E_CLOSED',
  [-99]: 'WXNET_E_PANIC',
});

/** A wxnet C call failed. */
class WxnetError extends Error {
  /**
   * @param {number} status the negative status.
   * @param {string} detail `wxnet_last_error()` read right after the call ('' when it
   *   cannot be read: for calls made on a worker thread).
   * @param {string} call the C function.
   */
  constructor(status, detail, call) {
    const description = native.wxnet_status_str(status);
    // The library's detail usually starts with the function name already: say it once.
    const text = detail.startsWith(`${call}: `) ? detail.slice(call.length + 2) : detail;
    super(`${call}: ${description} (${status})${text ? `: ${text}` : ''}`);
    this.name = 'WxnetError';
    /** @type {number} */
    this.status = status;
    /** @type {string} e.g. 'WXNET_E_INVALID_STATE' */
    this.code = STATUS_CODES[status] || 'WXNET_E_UNKNOWN';
    /** @type {string} */
    this.detail = detail;
    /** @type {string} */
    this.call = call;
  }

  /** True when the library reports the API as not implemented in this build. */
  get notImplemented() {
    return this.status === -5 && this.detail.includes('not implemented');
  }
}

/**
 * Throws a {@link WxnetError} unless `status` is WXNET_OK. Must run on the thread that
 * made the call (the detail is thread-local in the library): i.e. synchronously.
 * @param {number} status
 * @param {string} call
 */
function check(status, call) {
  if (status !== 0) throw new WxnetError(status, native.wxnet_last_error() || '', call);
}

/** A wx `fail` result. */
class WxFail extends Error {
  /** @param {{errMsg: string, errno: number}} res the FAIL event's res. */
  constructor(res) {
    super(`${res.errMsg} (errno ${res.errno})`);
    this.name = 'WxFail';
    /** @type {string} */
    this.errMsg = res.errMsg;
    /** @type {number} */
    this.errno = res.errno;
    /** @type {object} the whole res */
    this.res = res;
  }
}

/** The App was closed by this binding; no call may use it any more. */
class AppClosedError extends Error {
  constructor() {
    super('this wxnet App is closed');
    this.name = 'AppClosedError';
  }
}

/**
 * A socket's message stream ({@link SocketTask#messages}) overflowed: the consumer did
 * not keep up, so the binding aborted the socket and dropped the overflowing message and
 * everything after it. Thrown by the iterator after the messages buffered before the
 * overflow, instead of the normal end.
 */
class SocketOverflowError extends Error {
  /**
   * @param {{messages: number, bytes: number, maxBufferedMessages: number, maxBufferedBytes: number}} state
   *   what was buffered at the overflow, and the limits.
   */
  constructor({ messages, bytes, maxBufferedMessages, maxBufferedBytes }) {
    super('socket event stream overflow: the consumer did not keep up '
      + `(${messages} messages / ${bytes} bytes buffered; limits ${maxBufferedMessages} messages / ${maxBufferedBytes} bytes)`);
    this.name = 'SocketOverflowError';
    /** @type {number} messages buffered (not yet taken) at the overflow */
    this.messages = messages;
    /** @type {number} payload bytes buffered (not yet taken) at the overflow */
    this.bytes = bytes;
    /** @type {number} */
    this.maxBufferedMessages = maxBufferedMessages;
    /** @type {number} */
    this.maxBufferedBytes = maxBufferedBytes;
  }
}

module.exports = { WxnetError, WxFail, AppClosedError, SocketOverflowError, check, STATUS_CODES };
