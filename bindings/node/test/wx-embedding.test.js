'use strict';
// bindings/js/wx.js as a container embeds it: evaluated as a classic script in a bare
// ECMAScript realm (no require, module, timers, TextDecoder or Buffer), on a fake
// bridge written the way a QuickJS / JavaScriptCore container would write it.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { describe, it } = require('node:test');

const SOURCE = fs.readFileSync(path.join(__dirname, '..', '..', 'js', 'wx.js'), 'utf8');

/** A fresh realm with only ECMAScript built-ins, wx.js loaded into it. */
function bareRealm() {
  const context = vm.createContext({});
  vm.runInContext(SOURCE, context, { filename: 'wx.js' });
  assert.equal(vm.runInContext('typeof TextDecoder + typeof require + typeof setTimeout', context), 'undefinedundefinedundefined');
  return context;
}

/** UTF-8 bytes of a string, computed here (outside the realm). */
function utf8(text, context) {
  const bytes = Buffer.from(text, 'utf8');
  const ab = vm.runInContext(`new ArrayBuffer(${bytes.length})`, context);
  new Uint8Array(ab).set(bytes);
  return ab;
}

/**
 * A scripted bridge: each start replays the given events asynchronously (promise jobs,
 * as a native host would queue them), recording calls.
 */
function scriptedBridge(script) {
  const calls = [];
  let next = 1;
  return {
    calls,
    start(api, optionsJson, body, sink) {
      const id = next++;
      calls.push(['start', api, JSON.parse(optionsJson), body]);
      const events = script(api, JSON.parse(optionsJson));
      Promise.resolve().then(() => {
        for (const [kind, res, data] of events) sink(kind, JSON.stringify(res), data === undefined ? null : data);
      });
      return id;
    },
    abort(id) { calls.push(['abort', id]); },
    socketSend(id, data) { calls.push(['send', id, typeof data === 'string' ? data : Array.from(new Uint8Array(data))]); },
    socketClose(id, code, reason) { calls.push(['close', id, code, reason]); },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('wx.js in a bare realm', () => {
  it('defines wxnetJs and decodes UTF-8 without TextDecoder', async () => {
    const context = bareRealm();
    const text = '你好, wxnet 🚀 ünïcödé';
    const bridge = scriptedBridge(() => [
      [3, { statusCode: 200, header: {}, cookies: [] }],
      [1, { errMsg: 'request:ok', statusCode: 200, header: {}, cookies: [], profile: {}, dataKind: 'json' }, utf8(JSON.stringify({ text }), context)],
    ]);
    context.bridge = bridge;
    const seen = [];
    context.record = (what) => seen.push(what);
    vm.runInContext(`
      var wx = wxnetJs.createWx(bridge);
      var task = wx.request({ url: 'https://api.example.com/x', success: function (res) { record(res.data.text); }, complete: function () { record('complete'); } });
      task.onHeadersReceived(function (res) { record(res.statusCode); });
    `, context);
    await flush();
    assert.deepEqual(seen, [200, text, 'complete']);
  });

  it('invalid UTF-8 becomes U+FFFD, text and arraybuffer kinds', async () => {
    const context = bareRealm();
    const bad = vm.runInContext('new Uint8Array([0x61, 0xff, 0x62, 0xe4, 0xb8]).buffer', context);
    const bridge = scriptedBridge((api, options) => [
      [1, { errMsg: 'request:ok', statusCode: 200, dataKind: options.responseType === 'arraybuffer' ? 'arraybuffer' : 'text' }, bad],
    ]);
    context.bridge = bridge;
    const seen = [];
    context.record = (what) => seen.push(what);
    vm.runInContext(`
      var wx = wxnetJs.createWx(bridge);
      wx.request({ url: 'u', success: function (res) { record(res.data); } });
      wx.request({ url: 'u', responseType: 'arraybuffer', success: function (res) { record(res.data instanceof ArrayBuffer && res.data.byteLength); } });
    `, context);
    await flush();
    assert.deepEqual(seen, ['a\ufffdb\ufffd', 5]);
  });

  it('sockets: ArrayBuffer and string sends reach the bridge, messages come back typed', async () => {
    const context = bareRealm();
    const bridge = scriptedBridge(() => [
      [1, { errMsg: 'connectSocket:ok' }],
      [10, { header: {}, profile: {} }],
      [11, { dataKind: 'text' }, utf8('hi', context)],
      [11, { dataKind: 'arraybuffer' }, utf8('\u0001', context)],
      [13, { code: 1000, reason: '' }],
    ]);
    context.bridge = bridge;
    const seen = [];
    context.record = (what) => seen.push(what);
    vm.runInContext(`
      var wx = wxnetJs.createWx(bridge);
      var sock = wx.connectSocket({ url: 'wss://ws.example.com', success: function () { record('ok'); } });
      sock.onOpen(function () {
        sock.send({ data: 'text' });
        sock.send({ data: new Uint8Array([7, 8]).buffer });
        sock.send({ data: 42, fail: function (res) { record(res.errMsg); } });
      });
      sock.onMessage(function (res) { record(typeof res.data === 'string' ? res.data : new Uint8Array(res.data)[0]); });
      wx.onSocketClose(function (res) { record('closed ' + res.code); });
    `, context);
    await flush();
    await flush();
    assert.deepEqual(seen.slice(0, 3), ['ok', 'hi', 1]);
    assert.ok(seen.includes('closed 1000'));
    assert.ok(seen.some((s) => typeof s === 'string' && s.startsWith('sendSocketMessage:fail parameter error')));
    assert.deepEqual(bridge.calls.filter((c) => c[0] === 'send').map((c) => c[2]), ['text', [7, 8]]);
  });

  it('createWx rejects an incomplete bridge', () => {
    const context = bareRealm();
    assert.throws(() => vm.runInContext('wxnetJs.createWx({ start: function () {} })', context), /bridge needs/);
  });
});
