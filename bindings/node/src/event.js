'use strict';
/**
 * Events as the Node binding sees them: a copy of one `wxnet_event`, plus the decoding
 * of a SUCCESS result into the `res` a mini-program would get.
 * @module wxnet/event
 */

const { koffi, readBytes, WxnetEvent } = require('./library');

/** WXNET_EVENT_* */
const EventKind = Object.freeze({
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

const KIND_NAMES = Object.freeze(Object.fromEntries(Object.entries(EventKind).map(([k, v]) => [v, k])));

/** One event, copied out of the library's buffers. */
class Event {
  /**
   * @param {number|bigint} task the task id.
   * @param {number} kind an {@link EventKind}.
   * @param {string} json the res JSON text.
   * @param {Buffer|null} data the payload, or null.
   */
  constructor(task, kind, json, data) {
    if (!(kind in KIND_NAMES)) throw new Error(`unknown event kind ${kind}`);
    this.task = task;
    this.kind = kind;
    this.json = json;
    this.data = data;
    this._res = undefined;
  }

  /** The kind's name, e.g. 'HEADERS_RECEIVED'. */
  get kindName() {
    return KIND_NAMES[this.kind];
  }

  /** The parsed res object (parsed once). */
  get res() {
    if (this._res === undefined) this._res = JSON.parse(this.json);
    return this._res;
  }

  /**
   * Copies a poll-mode event (a pointer from wxnet_app_poll); the caller frees it.
   * @param {bigint} ptr
   * @returns {Event}
   */
  static fromPointer(ptr) {
    const raw = koffi.decode(ptr, WxnetEvent);
    const json = raw.json_len ? readBytes(raw.json, raw.json_len).toString('utf8') : '{}';
    const data = raw.data && raw.data_len ? readBytes(raw.data, raw.data_len) : null;
    return new Event(raw.task, raw.kind, json, data);
  }
}

/**
 * Decodes a SUCCESS payload per its dataKind: 'json' → parsed value, 'text' → string,
 * 'arraybuffer' → Buffer; no dataKind (upload results) → string.
 * @param {Buffer|null} data
 * @param {string|undefined} dataKind
 */
function decodeData(data, dataKind) {
  const bytes = data || Buffer.alloc(0);
  switch (dataKind) {
    case 'arraybuffer': return bytes;
    case 'json': return JSON.parse(bytes.toString('utf8'));
    case 'text':
    case undefined: return bytes.toString('utf8');
    default: throw new Error(`unknown dataKind ${JSON.stringify(dataKind)}`);
  }
}

/**
 * The wx success res of a SUCCESS event: its JSON without dataKind, plus `data`
 * decoded when `withData` (requests, uploads; downloads have none).
 * @param {Event} event
 * @param {boolean} withData
 */
function successRes(event, withData) {
  const { dataKind, ...res } = event.res;
  if (withData) res.data = decodeData(event.data, dataKind);
  return res;
}

module.exports = { Event, EventKind, decodeData, successRes };
