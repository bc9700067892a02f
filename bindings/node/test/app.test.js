'use strict';
// The Node App API against the local test server: the common scenario list.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const wxnet = require('./wxnet');
const { startServer, makeConfig, sandboxPath, pattern, startOrSkip, API, UPLOAD, CDN, WS, OTHER } = require('./support');

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

/** Runs `fn(app, errors)` with a fresh app, closed afterwards; listener errors fail the test. */
async function withApp(fn, overrides = {}) {
  const errors = [];
  const config = makeConfig(server, overrides);
  const app = new wxnet.App(config, { onCallbackError: (err) => errors.push(err) });
  try {
    return await fn(app, config);
  } finally {
    await app.close();
    assert.deepEqual(errors, []);
  }
}

describe('library', () => {
  it('has a version and status strings', () => {
    assert.equal(wxnet.version(), '0.1.0');
    assert.ok(fs.existsSync(wxnet.LIBRARY_PATH));
    assert.ok(wxnet.statusStr(-4).length > 0);
  });

  it('rejects an invalid config with the field named', () => {
    assert.throws(() => new wxnet.App({ appId: 'x', bogus: 1 }), (err) => {
      assert.ok(err instanceof wxnet.WxnetError);
      assert.equal(err.code, 'WXNET_E_INVALID_CONFIG');
      assert.match(err.detail, /bogus/);
      return true;
    });
    assert.throws(() => new wxnet.App(42), TypeError);
  });
});

describe('request', () => {
  it('GET json: decoded data, headers event first', () => withApp(async (app) => {
    const kinds = [];
    const res = await app.request({ url: `${API}/json` }, { onEvent: (e) => kinds.push(e.kindName) });
    assert.equal(res.errMsg, 'request:ok');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.data, { hello: 'world', n: 1 });
    assert.equal(res.dataKind, undefined);
    assert.deepEqual(kinds, ['HEADERS_RECEIVED', 'SUCCESS']);
  }));

  it('POST object data is JSON on the wire', () => withApp(async (app) => {
    const data = { a: { b: [1, 2, 3], c: { d: 'test' } } };
    const res = await app.request({ url: `${API}/echo`, method: 'POST', data });
    assert.equal(res.data.method, 'POST');
    assert.deepEqual(JSON.parse(res.data.body), data);
    assert.equal(res.data.headers.referer, 'https://servicewechat.com/wxtest/0/page-frame.html');
  }));

  it('binary body out, arraybuffer response in', () => withApp(async (app) => {
    const body = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 256));
    const res = await app.request({
      url: `${API}/echo/raw`, method: 'POST', responseType: 'arraybuffer',
      header: { 'content-type': 'application/octet-stream' }, data: body,
    });
    assert.ok(Buffer.isBuffer(res.data));
    assert.ok(res.data.equals(body));
  }));

  it('404 and 500 are successes', () => withApp(async (app) => {
    for (const code of [404, 500]) {
      const res = await app.request({ url: `${API}/status/${code}` });
      assert.equal(res.statusCode, code);
    }
  }));

  it('an unlisted domain fails with 600002', () => withApp(async (app) => {
    await assert.rejects(app.request({ url: `${OTHER}/json` }), (err) => {
      assert.ok(err instanceof wxnet.WxFail);
      assert.equal(err.errno, 600002);
      assert.match(err.errMsg, /^request:fail /);
      return true;
    });
  }));

  it('a timeout fails with errno 5', () => withApp(async (app) => {
    await assert.rejects(app.request({ url: `${API}/delay/5000`, timeout: 200 }),
      { name: 'WxFail', errno: 5, errMsg: 'request:fail timeout' });
  }));

  it('abort gives request:fail abort', () => withApp(async (app) => {
    const task = app.startRequest({ url: `${API}/hang` });
    task.abort();
    await assert.rejects(task.result(), { errMsg: 'request:fail abort' });
    task.abort(); // a no-op once ended
  }));

  it('chunked responses stream as chunkReceived', () => withApp(async (app) => {
    const task = app.startRequest({ url: `${API}/chunked?n=5&size=1000&interval_ms=30`, enableChunked: true });
    const chunks = [];
    task.on('chunkReceived', (c) => chunks.push(c));
    const res = await task.result();
    assert.equal(res.statusCode, 200);
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    assert.equal(Buffer.concat(chunks).length, 5000);
  }));

  it('HTTP/2 when enabled', () => withApp(async (app) => {
    const h2 = await app.request({ url: `${API}/alpn`, enableHttp2: true });
    assert.equal(h2.data, 'HTTP/2.0');
    assert.equal(h2.profile.protocol, 'h2');
    assert.equal((await app.request({ url: `${API}/alpn` })).data, 'HTTP/1.1');
  }));

  it('many concurrent requests all resolve', () => withApp(async (app) => {
    const all = await Promise.all(Array.from({ length: 30 }, (_, i) => app.request({ url: `${API}/echo?i=${i}` })));
    assert.deepEqual(all.map((r) => r.data.query), Array.from({ length: 30 }, (_, i) => `i=${i}`));
  }));

  it('bad input gives clear exceptions', () => withApp(async (app) => {
    assert.throws(() => app.startRequest('https://x'), TypeError);
    const circular = {};
    circular.self = circular;
    assert.throws(() => app.startRequest({ url: `${API}/json`, data: circular }), /cannot be serialized/);
    assert.throws(() => app.start('nope', {}), TypeError);
    assert.throws(() => app.setBackground('yes'), TypeError);
  }));
});

describe('app life', () => {
  it('close with tasks in flight: each task gets exactly one terminal event', async () => {
    const app = new wxnet.App(makeConfig(server));
    const terminals = new Map();
    const tasks = [
      app.startRequest({ url: `${API}/hang` }),
      app.startRequest({ url: `${API}/hang` }),
      app.startRequest({ url: `${API}/delay/10000` }),
      app.startDownloadFile({ url: `${CDN}/bytes/5000000?rate_kbps=100` }),
      app.connectSocket({ url: `${WS}/ws/echo` }),
    ];
    for (const task of tasks) {
      task.on('done', (e) => terminals.set(String(e.task), (terminals.get(String(e.task)) || 0) + 1));
    }
    await app.close();
    assert.equal(app.closed, true);
    for (const task of tasks) assert.equal(terminals.get(String(task.id)), 1);
    for (const task of tasks.slice(0, 3)) assert.equal(task.terminalEvent.res.errMsg, 'request:fail abort');
    assert.equal(tasks[3].terminalEvent.res.errMsg, 'downloadFile:fail abort');
    assert.equal(tasks[4].terminalEvent.kind, wxnet.EventKind.SOCKET_CLOSE);
    assert.notEqual(tasks[4].terminalEvent.res.reason, 'app closed', 'a real close, not synthesized');
    await app.close(); // idempotent
    assert.throws(() => app.startRequest({ url: `${API}/json` }), wxnet.AppClosedError);
  });

  it('background interrupts requests after the grace period', () => withApp(async (app) => {
    const task = app.startRequest({ url: `${API}/hang` });
    app.setBackground(true);
    await assert.rejects(task.result(), { errno: 600003 });
    app.setBackground(false);
    assert.equal((await app.request({ url: `${API}/json` })).statusCode, 200);
  }, { backgroundGraceMs: 100 }));

  it('resetConnections: the next request connects anew', () => withApp(async (app) => {
    await app.request({ url: `${API}/json` });
    assert.equal((await app.request({ url: `${API}/json` })).profile.socketReused, true);
    app.resetConnections();
    assert.equal((await app.request({ url: `${API}/json` })).profile.socketReused, false);
    assert.equal((await app.request({ url: `${API}/json` })).profile.socketReused, true);
  }));

  it('listener exceptions reach onCallbackError and delivery goes on', async () => {
    const errors = [];
    const app = new wxnet.App(makeConfig(server), { onCallbackError: (err) => errors.push(err.message) });
    const task = app.startRequest({ url: `${API}/json` });
    task.on('headersReceived', () => { throw new Error('boom'); });
    assert.equal((await task.result()).statusCode, 200);
    await app.close();
    assert.deepEqual(errors, ['boom']);
  });
});

describe('uploadFile / downloadFile', () => {
  it('upload with progress', (t) => withApp(async (app, config) => {
    const content = crypto.randomBytes(1 << 20);
    fs.writeFileSync(path.join(config.tempDir, 'tmp_upload.bin'), content);
    const started = startOrSkip(t, () => app.startUploadFile({
      url: `${UPLOAD}/upload`, filePath: 'wxfile://tmp_upload.bin', name: 'file', formData: { user: 'test' },
    }));
    if (!started) return;
    const task = started.value;
    const progress = [];
    task.on('progress', (p) => progress.push(p));
    const res = await task.result();
    assert.equal(res.errMsg, 'uploadFile:ok');
    assert.equal(typeof res.data, 'string');
    const reply = JSON.parse(res.data);
    assert.deepEqual(reply.fields, { user: 'test' });
    assert.equal(reply.files[0].size, content.length);
    assert.equal(reply.files[0].sha256, crypto.createHash('sha256').update(content).digest('hex'));
    assert.ok(progress.length > 0);
    assert.equal(progress.at(-1).progress, 100);
    assert.equal(progress.at(-1).totalBytesSent, progress.at(-1).totalBytesExpectedToSend);
  }));

  it('download with progress', (t) => withApp(async (app, config) => {
    const size = 600000;
    const started = startOrSkip(t, () => app.startDownloadFile({ url: `${CDN}/bytes/${size}?rate_kbps=4000` }));
    if (!started) return;
    const task = started.value;
    const progress = [];
    task.on('progress', (p) => progress.push(p));
    const res = await task.result();
    assert.equal(res.errMsg, 'downloadFile:ok');
    assert.match(res.tempFilePath, /^wxfile:\/\/tmp_/);
    assert.ok(fs.readFileSync(sandboxPath(config, res.tempFilePath)).equals(pattern(size)));
    assert.equal(progress.at(-1).progress, 100);
    assert.equal(progress.at(-1).totalBytesWritten, size);
  }));

  it('download abort: downloadFile:fail abort, errno 603105', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.startDownloadFile({ url: `${CDN}/bytes/5000000?rate_kbps=100` }));
    if (!started) return;
    started.value.abort();
    await assert.rejects(started.value.result(), { errMsg: 'downloadFile:fail abort', errno: 603105 });
  }));
});

describe('connectSocket', () => {
  const WS_ECHO = `${WS}/ws/echo`;

  it('echoes text and binary, then closes', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: WS_ECHO }));
    if (!started) return;
    const socket = started.value;
    const messages = [];
    socket.on('message', (m) => messages.push(m));
    const openRes = await socket.opened();
    assert.ok(openRes.header);
    socket.send('你好 wxnet');
    socket.send(new Uint8Array([0, 1, 2, 255]).buffer);
    while (messages.length < 2) await new Promise((resolve) => socket.once('message', resolve));
    assert.equal(messages[0], '你好 wxnet');
    assert.deepEqual([...messages[1]], [0, 1, 2, 255]);
    assert.throws(() => socket.close(1001, 'reserved'), { code: 'WXNET_E_INVALID_ARGUMENT' });
    assert.throws(() => socket.send(42), TypeError);
    socket.close(3001, 'bye');
    const close = await socket.wait();
    assert.equal(close.kind, wxnet.EventKind.SOCKET_CLOSE);
    assert.throws(() => socket.send('late'), { code: 'WXNET_E_INVALID_STATE' });
  }));

  it('a flood of 3000 messages arrives in order without blocking the event loop', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: `${WS}/ws/flood?n=3000` }));
    if (!started) return;
    const socket = started.value;
    const messages = [];
    let turns = 0;
    const ticker = setInterval(() => { turns += 1; }, 1);
    await new Promise((resolve) => {
      socket.on('message', (m) => {
        messages.push(m);
        if (messages.length === 3000) resolve();
      });
    });
    clearInterval(ticker);
    assert.deepEqual(messages, Array.from({ length: 3000 }, (_, i) => String(i)));
    assert.ok(turns > 0, 'timers ran while the messages were being delivered');
    socket.close();
    await socket.wait();
  }));

  /** The socket's terminal event, or a rejection after `ms` (no sleeps: a bounded wait). */
  function endOf(socket, ms = 20000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket ${socket.id} did not end within ${ms} ms`)), ms);
    });
    return Promise.race([socket.wait(), timeout]).finally(() => clearTimeout(timer));
  }

  /** Takes everything from `iterator` until it ends or throws: [messages, error|null]. */
  async function drain(iterator) {
    const got = [];
    try {
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) return [got, null];
        got.push(value);
      }
    } catch (err) {
      return [got, err];
    }
  }

  const PUSH_64K = `${WS}/ws/push?n=200&size=65536`;
  const BLOCK_64K = Buffer.alloc(65536, 0x5a);

  it('an unconsumed stream overflows at maxBufferedMessages: the socket is aborted, 8 messages then SocketOverflowError', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: PUSH_64K }));
    if (!started) return;
    const socket = started.value;
    const stream = socket.messages({ maxBufferedMessages: 8 });
    let heard = 0;
    socket.on('message', () => { heard += 1; });
    const end = await endOf(socket); // nothing consumed until the native task ended
    assert.equal(end.kindName, 'SOCKET_CLOSE');
    assert.equal(end.res.code, 1000); // wxnet_task_abort on a socket: 1000 ""
    assert.ok(heard >= 9, `listeners saw the overflowing message too (${heard})`);
    const [got, err] = await drain(stream);
    assert.equal(got.length, 8);
    for (const message of got) assert.ok(BLOCK_64K.equals(message), 'each message is 65536 bytes of 0x5a');
    assert.ok(err instanceof wxnet.SocketOverflowError, `overflow error, not ${err}`);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'SocketOverflowError');
    assert.equal(err.messages, 8);
    assert.equal(err.bytes, 524288);
    assert.equal(err.maxBufferedMessages, 8);
    assert.equal(err.maxBufferedBytes, 16777216);
    assert.equal(err.message, 'socket event stream overflow: the consumer did not keep up '
      + '(8 messages / 524288 bytes buffered; limits 8 messages / 16777216 bytes)');
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  }));

  it('an unconsumed stream overflows at maxBufferedBytes: 1 message of 64 KiB then SocketOverflowError', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: PUSH_64K }));
    if (!started) return;
    const socket = started.value;
    const stream = socket.messages({ maxBufferedBytes: 100000 });
    const end = await endOf(socket);
    assert.equal(end.kindName, 'SOCKET_CLOSE');
    assert.equal(end.res.code, 1000);
    const [got, err] = await drain(stream);
    assert.equal(got.length, 1);
    assert.ok(BLOCK_64K.equals(got[0]));
    assert.ok(err instanceof wxnet.SocketOverflowError, `overflow error, not ${err}`);
    assert.deepEqual(
      { messages: err.messages, bytes: err.bytes, maxBufferedMessages: err.maxBufferedMessages, maxBufferedBytes: err.maxBufferedBytes },
      { messages: 1, bytes: 65536, maxBufferedMessages: 4096, maxBufferedBytes: 100000 },
    );
    assert.match(err.message, /\(1 messages \/ 65536 bytes buffered; limits 4096 messages \/ 100000 bytes\)$/);
  }));

  it('bad stream limits are rejected at once, before any iteration', () => {
    const socket = new wxnet.SocketTask(); // never started: the check needs no socket
    assert.throws(() => socket.messages({ maxBufferedMessages: 0 }), RangeError);
    assert.throws(() => socket.messages({ maxBufferedBytes: 0 }), RangeError);
    assert.throws(() => socket.messages({ maxBufferedMessages: -1 }), RangeError);
    assert.throws(() => socket.messages({ maxBufferedMessages: 1.5 }), TypeError);
    assert.throws(() => socket.messages({ maxBufferedBytes: '100' }), TypeError);
    assert.throws(() => socket.messages({ maxBufferedBytes: Infinity }), TypeError);
    assert.throws(() => socket.messages(null), TypeError);
    assert.equal(socket.listenerCount('event'), 0);
    assert.equal(typeof socket.messages({ maxBufferedMessages: 1, maxBufferedBytes: 1 }).next, 'function');
  });

  it('a server-initiated close reports its code and reason', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: `${WS}/ws/server-close?code=4001&reason=bye&after_ms=20` }));
    if (!started) return;
    const close = await new Promise((resolve) => started.value.on('close', resolve));
    assert.deepEqual(close, { code: 4001, reason: 'bye' });
  }));

  it('close before open ends with one close', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: WS_ECHO }));
    if (!started) return;
    let closes = 0;
    started.value.on('close', () => { closes += 1; });
    started.value.close();
    await started.value.wait();
    assert.equal(closes, 1);
  }));

  it('an unlisted socket domain fails', (t) => withApp(async (app) => {
    const started = startOrSkip(t, () => app.connectSocket({ url: 'wss://other.wxnet.test/ws/echo' }));
    if (!started) return;
    await assert.rejects(started.value.result(), { errno: 600002 });
  }));
});
