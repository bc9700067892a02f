'use strict';
/**
 * wxnet for Node: the App (poll mode + wakeup hook, events on the main thread),
 * task objects with promises and event emitters, and `createWx(app)`: the reference
 * wx layer on this binding.
 * @module wxnet
 */

const { native, ABI_VERSION, LIBRARY_PATH, PLATFORM_PACKAGE } = require('./library');
const { App } = require('./app');
const { Event, EventKind, decodeData } = require('./event');
const { WxnetError, WxFail, AppClosedError, SocketOverflowError, STATUS_CODES } = require('./errors');
const { Task, RequestTask, UploadTask, DownloadTask, SocketTask } = require('./tasks');
const { createBridge, createWx, wxLayer } = require('./wx-bridge');

/** The library version, e.g. "0.1.0". */
function version() {
  return native.wxnet_version();
}

/** The static description of a status code. @param {number} status */
function statusStr(status) {
  return native.wxnet_status_str(status);
}

module.exports = {
  App, Event, EventKind, decodeData,
  Task, RequestTask, UploadTask, DownloadTask, SocketTask,
  WxnetError, WxFail, AppClosedError, SocketOverflowError, STATUS_CODES,
  createBridge, createWx, version, statusStr, ABI_VERSION, LIBRARY_PATH, PLATFORM_PACKAGE,
  /** The plain wx layer module (bindings/js/wx.js): createWx(bridge, hooks) for custom bridges. */
  wxLayer,
  /** The raw koffi declarations of every export (advanced use). */
  native,
};
