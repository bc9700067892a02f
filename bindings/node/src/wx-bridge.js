'use strict';
/**
 * The Node bridge of the reference wx layer (bindings/js/wx.js): it implements the
 * bridge interface documented in bindings/js/README.md on top of an {@link App}.
 * Events reach the layer's sinks on the main thread, always after `start` returned.
 * @module wxnet/wx-bridge
 */

const { App } = require('./app');

/**
 * The wx layer module (plain JS, shared with other containers): the copy packed into
 * this package (src/wx.js, put there by scripts/build-node-packages.sh), or in a
 * checkout bindings/js/wx.js.
 */
const wxLayer = (() => {
  try {
    return require('./wx.js');
  } catch (err) {
    if (!(err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('./wx.js'))) throw err;
    return require('../../js/wx.js');
  }
})();

/** @param {Buffer|null} buf @returns {ArrayBuffer|null} a copy as an ArrayBuffer */
function toArrayBuffer(buf) {
  if (!buf) return null;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

/**
 * Builds the bridge object for an App.
 * @param {App} app
 * @returns {{start: Function, abort: Function, socketSend: Function, socketClose: Function}}
 */
function createBridge(app) {
  if (!(app instanceof App)) throw new TypeError('createBridge needs a wxnet App');
  /** @type {Map<string, import('./tasks').Task>} live tasks by id */
  const tasks = new Map();
  const live = (id) => {
    const task = tasks.get(String(id));
    if (!task) throw new Error(`no live task ${id}`);
    return task;
  };
  return {
    /**
     * @param {string} api 'request' | 'uploadFile' | 'downloadFile' | 'connectSocket'
     * @param {string} optionsJson the wx options as JSON text
     * @param {ArrayBuffer|null} body request only: the binary data
     * @param {(kind: number, json: string, data: ArrayBuffer|null) => void} sink
     * @returns {number|bigint} the task id
     */
    start(api, optionsJson, body, sink) {
      const task = app.start(api, optionsJson, body);
      const key = String(task.id);
      tasks.set(key, task);
      task.on('event', (event) => sink(event.kind, event.json, toArrayBuffer(event.data)));
      task.once('done', () => tasks.delete(key));
      return task.id;
    },
    /** @param {number|bigint} id */
    abort(id) {
      const task = tasks.get(String(id));
      if (task) task.abort(); // an id that already ended: nothing to do, as in the C ABI
    },
    /** @param {number|bigint} id @param {string|ArrayBuffer} data */
    socketSend(id, data) {
      live(id).send(data);
    },
    /** @param {number|bigint} id @param {number} code @param {string} reason */
    socketClose(id, code, reason) {
      live(id).close(code, reason);
    },
  };
}

/**
 * A `wx` object (wx.request, wx.uploadFile, wx.downloadFile, wx.connectSocket and the
 * legacy socket functions) running on an App.
 * @param {App} app
 * @param {{onCallbackError?: (err: Error) => void}} [hooks] see createWx in wx.js.
 */
function createWx(app, hooks) {
  return wxLayer.createWx(createBridge(app), hooks);
}

module.exports = { createBridge, createWx, wxLayer };
