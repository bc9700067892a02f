'use strict';
// The wx layer (bindings/js/wx.js) on the Node bridge: the common scenario list, as
// mini-program code sees it.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const wxnet = require('./wxnet');
const { startServer, makeConfig, sandboxPath, pattern, API, UPLOAD, CDN, WS, OTHER } = require('./support');
const { miniProgram } = require('./wx-harness');

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

const WS_ECHO = `${WS}/ws/echo`;

/** Runs `fn(wx, env, config)` in a fresh mini-program; callbacks may not throw. */
async function withWx(fn, overrides = {}) {
  const config = makeConfig(server, overrides);
  const app = new wxnet.App(config);
  const env = miniProgram(app, config);
  try {
    await fn(env.wx, env, config);
  } finally {
    await app.close();
  }
  assert.deepEqual(env.callbackErrors, []);
}

/**
 * Calls a wx API with success/fail/complete recorders; resolves after complete with
 * {order: ['success'|'fail', 'complete'], res, task}.
 */
function call(api, options) {
  let task;
  const promise = new Promise((resolve) => {
    const order = [];
    let result;
    task = api({
      ...options,
      success(res) { order.push('success'); result = res; },
      fail(res) { order.push('fail'); result = res; },
      complete(res) {
        order.push('complete');
        assert.equal(res, result, 'complete gets the same res');
        resolve({ order, res, task });
      },
    });
  });
  promise.task = task;
  return promise;
}

/** Skips the test when the spy saw a start refused as not implemented. */
function skipIfNotImplemented(t, env) {
  const err = env.spy.notImplemented;
  if (err) t.skip(`not implemented in this build of libwxnet yet: ${err.detail}`);
  return Boolean(err);
}

describe('wx.request', () => {
  it('GET json: success then complete, data parsed', () => withWx(async (wx) => {
    const { order, res } = await call(wx.request, { url: `${API}/json` });
    assert.deepEqual(order, ['success', 'complete']);
    assert.equal(res.errMsg, 'request:ok');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.data, { hello: 'world', n: 1 });
    assert.ok(res.header['content-type'].includes('json'));
    assert.ok(Array.isArray(res.cookies));
    assert.equal(typeof res.profile.rtt, 'number');
    assert.equal('dataKind' in res, false);
  }));

  it('POST object data is echoed as JSON', () => withWx(async (wx) => {
    const { res } = await call(wx.request, { url: `${API}/echo`, method: 'POST', data: { a: 1, b: ['x'] } });
    assert.equal(res.data.method, 'POST');
    assert.equal(res.data.body, '{"a":1,"b":["x"]}');
  }));

  it('ArrayBuffer data out, responseType arraybuffer in', () => withWx(async (wx, env) => {
    const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    const { res } = await call(wx.request, {
      url: `${API}/echo/raw`, method: 'POST', data: bytes.buffer, responseType: 'arraybuffer',
      header: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(Object.prototype.toString.call(res.data), '[object ArrayBuffer]');
    assert.deepEqual(new Uint8Array(res.data), bytes);
    assert.equal(env.spy.starts[0].options.data, undefined, 'binary data left the JSON');
  }));

  it('dataType other than json gives a string', () => withWx(async (wx) => {
    const { res } = await call(wx.request, { url: `${API}/json`, dataType: 'text' });
    assert.equal(typeof res.data, 'string');
    assert.deepEqual(JSON.parse(res.data), { hello: 'world', n: 1 });
    const plain = await call(wx.request, { url: `${API}/text` });
    assert.equal(plain.res.data, 'plain text, not json');
  }));

  it('404 is a success', () => withWx(async (wx) => {
    const { order, res } = await call(wx.request, { url: `${API}/status/404` });
    assert.deepEqual(order, ['success', 'complete']);
    assert.equal(res.statusCode, 404);
  }));

  it('an unlisted domain fails with errno 600002', () => withWx(async (wx) => {
    const { order, res } = await call(wx.request, { url: `${OTHER}/json` });
    assert.deepEqual(order, ['fail', 'complete']);
    assert.equal(res.errno, 600002);
    assert.match(res.errMsg, /^request:fail /);
  }));

  it('a timeout fails with errno 5', () => withWx(async (wx) => {
    const { res } = await call(wx.request, { url: `${API}/delay/5000`, timeout: 200 });
    assert.equal(res.errMsg, 'request:fail timeout');
    assert.equal(res.errno, 5);
  }));

  it('abort: fail "request:fail abort", then complete', () => withWx(async (wx) => {
    const pending = call(wx.request, { url: `${API}/hang` });
    pending.task.abort();
    const { order, res } = await pending;
    assert.deepEqual(order, ['fail', 'complete']);
    assert.equal(res.errMsg, 'request:fail abort');
    pending.task.abort(); // after the end: nothing happens
  }));

  it('onHeadersReceived / offHeadersReceived', () => withWx(async (wx) => {
    const seen = [];
    const pending = call(wx.request, { url: `${API}/set-cookie` });
    const kept = (res) => seen.push(['kept', res.statusCode, res.cookies]);
    const removed = () => seen.push(['removed']);
    pending.task.onHeadersReceived(kept);
    pending.task.onHeadersReceived(removed);
    pending.task.offHeadersReceived(removed);
    await pending;
    assert.deepEqual(seen, [['kept', 200, ['a=1; Path=/', 'b=2; HttpOnly']]]);
    assert.throws(() => pending.task.onHeadersReceived('nope'), TypeError);
  }));

  it('onChunkReceived gets {data: ArrayBuffer} chunks before success', () => withWx(async (wx) => {
    const events = [];
    const pending = call(wx.request, { url: `${API}/chunked?n=4&size=500&interval_ms=30`, enableChunked: true });
    pending.task.onChunkReceived((res) => events.push(res.data));
    const { res } = await pending;
    assert.equal(res.statusCode, 200);
    assert.ok(events.length >= 2);
    assert.ok(events.every((d) => Object.prototype.toString.call(d) === '[object ArrayBuffer]'));
    assert.equal(events.reduce((n, d) => n + d.byteLength, 0), 2000);
  }));

  it('HTTP/2 with enableHttp2', () => withWx(async (wx) => {
    const { res } = await call(wx.request, { url: `${API}/alpn`, enableHttp2: true });
    assert.equal(res.data, 'HTTP/2.0');
    assert.equal(res.profile.protocol, 'h2');
  }));

  it('a throwing success still gets complete, and the error is reported', async () => {
    const config = makeConfig(server);
    const app = new wxnet.App(config);
    const errors = [];
    const wx = wxnet.createWx(app, { onCallbackError: (err) => errors.push(err.message) });
    await new Promise((resolve) => {
      wx.request({ url: `${API}/json`, success() { throw new Error('page bug'); }, complete: resolve });
    });
    await app.close();
    assert.deepEqual(errors, ['page bug']);
  });

  it('options that cannot be serialized fail asynchronously with a parameter error', () => withWx(async (wx) => {
    const data = {};
    data.self = data;
    let sync = true;
    const pending = call(wx.request, { url: `${API}/json`, data });
    sync = false;
    const { order, res } = await pending;
    assert.equal(sync, false);
    assert.deepEqual(order, ['fail', 'complete']);
    assert.match(res.errMsg, /^request:fail parameter error/);
    assert.equal(res.errno, 1001);
    assert.throws(() => wx.request('https://api.wxnet.test/json'), TypeError);
  }));

  it('app close with requests in flight: one fail and one complete each', async () => {
    const app = new wxnet.App(makeConfig(server));
    const wx = wxnet.createWx(app);
    const seen = [];
    for (let i = 0; i < 3; i++) {
      wx.request({
        url: `${API}/hang`,
        success: () => seen.push([i, 'success']),
        fail: (res) => seen.push([i, res.errMsg]),
        complete: () => seen.push([i, 'complete']),
      });
    }
    await app.close();
    seen.sort((a, b) => a[0] - b[0]);
    assert.deepEqual(seen, [0, 1, 2].flatMap((i) => [[i, 'request:fail abort'], [i, 'complete']]));
  });
});

describe('wx.uploadFile / wx.downloadFile', () => {
  it('upload with onProgressUpdate', (t) => withWx(async (wx, env, config) => {
    const content = crypto.randomBytes(512 * 1024);
    fs.writeFileSync(path.join(config.tempDir, 'tmp_up.bin'), content);
    const progress = [];
    const pending = call(wx.uploadFile, { url: `${UPLOAD}/upload`, filePath: 'wxfile://tmp_up.bin', name: 'f', formData: { k: 'v' } });
    if (skipIfNotImplemented(t, env)) return;
    const removed = () => progress.push('removed');
    pending.task.onProgressUpdate((res) => progress.push(res));
    pending.task.onProgressUpdate(removed);
    pending.task.offProgressUpdate(removed);
    const { order, res } = await pending;
    assert.deepEqual(order, ['success', 'complete']);
    assert.equal(res.errMsg, 'uploadFile:ok');
    assert.equal(typeof res.data, 'string');
    const reply = JSON.parse(res.data);
    assert.deepEqual(reply.fields, { k: 'v' });
    assert.equal(reply.files[0].sha256, crypto.createHash('sha256').update(content).digest('hex'));
    assert.ok(!progress.includes('removed'));
    assert.equal(progress.at(-1).progress, 100);
    assert.equal(progress.at(-1).totalBytesExpectedToSend, progress.at(-1).totalBytesSent);
  }));

  it('download with onProgressUpdate, to a temp file', (t) => withWx(async (wx, env, config) => {
    const progress = [];
    const pending = call(wx.downloadFile, { url: `${CDN}/bytes/300000?rate_kbps=3000` });
    if (skipIfNotImplemented(t, env)) return;
    pending.task.onProgressUpdate((res) => progress.push(res.progress));
    const { res } = await pending;
    assert.equal(res.statusCode, 200);
    assert.ok(fs.readFileSync(sandboxPath(config, res.tempFilePath)).equals(pattern(300000)));
    assert.ok(progress.length >= 2, `${progress.length} progress events`);
    assert.equal(progress.at(-1), 100);
  }));

  it('download to wx.env.USER_DATA_PATH', (t) => withWx(async (wx, env, config) => {
    const filePath = `${wx.env.USER_DATA_PATH}/saved.bin`;
    const pending = call(wx.downloadFile, { url: `${CDN}/bytes/1000`, filePath });
    if (skipIfNotImplemented(t, env)) return;
    const { res } = await pending;
    assert.equal(res.filePath, filePath);
    assert.ok(fs.readFileSync(sandboxPath(config, filePath)).equals(pattern(1000)));
  }));
});

describe('wx.connectSocket', () => {
  it('SocketTask: text and ArrayBuffer echo, close with code and reason', (t) => withWx(async (wx, env) => {
    const got = [];
    const closed = new Promise((resolve) => {
      const task = wx.connectSocket({ url: WS_ECHO });
      task.onOpen(() => {
        task.send({ data: 'hello 你好' });
        task.send({ data: new Uint8Array([1, 2, 3]).buffer });
      });
      task.onMessage((res) => {
        got.push(res.data);
        if (got.length === 2) task.close({ code: 3001, reason: 'done' });
      });
      task.onClose(resolve);
    });
    await Promise.resolve();
    if (skipIfNotImplemented(t, env)) return;
    const res = await closed;
    assert.equal(got[0], 'hello 你好');
    assert.deepEqual([...new Uint8Array(got[1])], [1, 2, 3]);
    assert.ok([1000, 3001].includes(res.code));
  }));

  it('connectSocket success/complete, send before open fails', (t) => withWx(async (wx, env) => {
    const order = [];
    const task = wx.connectSocket({ url: WS_ECHO, success: () => order.push('success'), complete: () => order.push('complete') });
    const sendRes = await new Promise((resolve) => task.send({ data: 'too early', fail: resolve }));
    if (skipIfNotImplemented(t, env)) return;
    assert.match(sendRes.errMsg, /^sendSocketMessage:fail /);
    await new Promise((resolve) => task.onOpen(resolve));
    assert.deepEqual(order, ['success', 'complete']);
    const closeRes = await new Promise((resolve) => task.close({ success: resolve }));
    assert.equal(closeRes.errMsg, 'closeSocket:ok');
  }));

  it('close before open: onClose fires once', (t) => withWx(async (wx, env) => {
    let closes = 0;
    const task = wx.connectSocket({ url: WS_ECHO });
    if (skipIfNotImplemented(t, env)) return;
    task.onClose(() => { closes += 1; });
    task.close({});
    await env.spy.settled(1);
    assert.equal(closes, 1);
  }));

  it('legacy API: onSocketOpen / sendSocketMessage / onSocketMessage / closeSocket / onSocketClose', (t) => withWx(async (wx, env) => {
    const messages = [];
    const done = new Promise((resolve) => {
      wx.onSocketOpen(() => wx.sendSocketMessage({ data: 'legacy' }));
      wx.onSocketMessage((res) => { messages.push(res.data); wx.closeSocket(); });
      wx.onSocketClose(resolve);
      wx.connectSocket({ url: WS_ECHO });
    });
    await Promise.resolve();
    if (skipIfNotImplemented(t, env)) return;
    await done;
    assert.deepEqual(messages, ['legacy']);
  }));

  it('legacy functions follow the most recent socket', (t) => withWx(async (wx, env) => {
    const first = wx.connectSocket({ url: `${WS}/ws/echo` });
    if (skipIfNotImplemented(t, env)) return;
    const globalMessages = [];
    const firstMessages = [];
    first.onMessage((res) => firstMessages.push(res.data));
    await new Promise((resolve) => first.onOpen(resolve));
    const second = wx.connectSocket({ url: `${WS}/ws/echo` });
    wx.onSocketMessage((res) => globalMessages.push(res.data));
    await new Promise((resolve) => wx.onSocketOpen(resolve));
    first.send({ data: 'to first' });
    wx.sendSocketMessage({ data: 'to latest' });
    await new Promise((resolve) => second.onMessage(resolve));
    while (firstMessages.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(globalMessages, ['to latest']);
    assert.deepEqual(firstMessages, ['to first']);
    first.close({});
    wx.closeSocket({});
    await env.spy.settled(2);
  }));

  it('legacy calls without any socket fail', () => withWx(async (wx) => {
    const res = await new Promise((resolve) => wx.sendSocketMessage({ data: 'x', fail: resolve }));
    assert.match(res.errMsg, /^sendSocketMessage:fail /);
    const closeRes = await new Promise((resolve) => wx.closeSocket({ fail: resolve }));
    assert.match(closeRes.errMsg, /^closeSocket:fail /);
  }));
});
