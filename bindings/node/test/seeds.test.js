'use strict';
// The code samples of shared/seeds/, run unmodified (URLs aside: see each fixture's
// header) through the wx layer on the Node bridge, against the local test server.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const wxnet = require('./wxnet');
const { startServer, makeConfig, sandboxPath, pattern } = require('./support');
const { miniProgram, flush } = require('./wx-harness');

const KIND = wxnet.EventKind;

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

/** Runs `fn(env, config)` in a fresh mini-program; no callback may throw. */
async function inMiniProgram(fn, overrides = {}) {
  const config = makeConfig(server, overrides);
  const app = new wxnet.App(config);
  const env = miniProgram(app, config);
  try {
    await fn(env, config);
  } finally {
    await app.close();
  }
  assert.deepEqual(env.callbackErrors, []);
}

/** The last recorded event of a start. */
const terminal = (start) => start.events.at(-1);

describe('seed 000: wx.request / wx.uploadFile docs', () => {
  it('request with data and header, then requestTask.abort()', () => inMiniProgram(async (env) => {
    env.run('seed000-request-abort.js');
    await env.spy.settled(1);
    const [req] = env.spy.starts;
    assert.equal(req.api, 'request');
    assert.deepEqual(req.options.data, { x: '', y: '' });
    assert.deepEqual(req.options.header, { 'content-type': 'application/json' });
    assert.equal(terminal(req).res.errMsg, 'request:fail abort');
    assert.deepEqual(env.logs, [], 'success never ran');
  }));

  it('wx.chooseImage then wx.uploadFile with formData', () => inMiniProgram(async (env, config) => {
    env.run('seed000-upload.js');
    await env.spy.settled(1);
    const [up] = env.spy.starts;
    assert.equal(up.api, 'uploadFile');
    const end = terminal(up);
    assert.equal(end.kind, KIND.SUCCESS, JSON.stringify(end.res));
    const reply = JSON.parse(Buffer.from(end.data).toString('utf8'));
    assert.deepEqual(reply.fields, { user: 'test' });
    assert.equal(reply.files[0].name, 'file');
    assert.equal(reply.files[0].size, fs.statSync(path.join(config.tempDir, 'tmp_chosen_photo.png')).size);
  }));
});

describe('seed 001: 发起HTTPS网络通信', () => {
  it('wx.request with a success logging res', () => inMiniProgram(async (env) => {
    env.run('seed001-request-getinfo.js');
    await env.spy.settled(1);
    await flush();
    assert.equal(env.logs.length, 1);
    const [res] = env.logs[0];
    assert.equal(res.statusCode, 200);
    assert.equal(res.data.path, '/echo');
    assert.equal(res.errMsg, 'request:ok');
  }));

  it('parameters in the url and in data reach the server the same way', () => inMiniProgram(async (env) => {
    env.run('seed001-request-params.js');
    await env.spy.settled(2);
    const queries = env.spy.starts.map((s) => JSON.parse(Buffer.from(terminal(s).data).toString()).query);
    assert.deepEqual(queries, ['id=1&version=1.0.0', 'id=1&version=1.0.0']);
  }));

  it('POST with content-type application/json sends data as JSON', () => inMiniProgram(async (env) => {
    env.run('seed001-request-post-json.js');
    await env.spy.settled(1);
    await flush();
    const [res] = env.logs[0];
    assert.equal(res.data.method, 'POST');
    // The sample's own comment: 请求的包体为{"a":{"b":[1,2,3],"c":{"d":"test"}}}
    assert.equal(res.data.body, '{"a":{"b":[1,2,3],"c":{"d":"test"}}}');
  }));

  it("app.json networkTimeout.request 3000 makes a slow request fail", async () => {
    const appJson = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'seeds', 'seed001-app.json'), 'utf8'));
    await inMiniProgram(async (env) => {
      const started = Date.now();
      const res = await new Promise((resolve) => {
        env.wx.request({ url: 'https://api.wxnet.test/delay/6000', fail: resolve });
      });
      assert.equal(res.errMsg, 'request:fail timeout');
      assert.equal(res.errno, 5);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 2900 && elapsed < 5500, `${elapsed} ms`);
    }, appJson);
  });

  it('Page tap: loading, one request at a time, complete resets the lock', () => inMiniProgram(async (env) => {
    env.run('seed001-page-tap.js');
    assert.equal(env.pages.length, 1);
    const page = env.pages[0];
    page.tap();
    page.tap(); // ignored: hasClick
    await env.spy.settled(1);
    await flush();
    assert.equal(env.spy.starts.length, 1);
    assert.equal(env.spy.starts[0].options.method, 'POST');
    assert.deepEqual(env.calls.map((c) => c[0]), ['showLoading', 'hideLoading']);
    assert.equal(env.logs.length, 1);
    assert.equal(env.logs[0][0].method, 'POST');
    page.tap(); // the lock was released by complete
    await env.spy.settled(2);
    await flush();
    assert.deepEqual(env.calls.map((c) => c[0]), ['showLoading', 'hideLoading', 'showLoading', 'hideLoading']);
  }));
});

describe('seed 002: 网络 API', () => {
  it('wx.request with data, success logs res.data', () => inMiniProgram(async (env) => {
    env.run('seed002-request.js');
    await env.spy.settled(1);
    await flush();
    assert.equal(env.logs.length, 1);
    assert.equal(env.logs[0][0].query, 'x=&y=');
  }));

  it('wx.downloadFile then wx.playVoice with the temp file', () => inMiniProgram(async (env, config) => {
    env.run('seed002-download.js');
    await env.spy.settled(1);
    await flush();
    const voice = env.calls.find((c) => c[0] === 'playVoice');
    assert.ok(voice, `playVoice called: ${JSON.stringify(env.spy.starts[0].events.map((e) => e.res))}`);
    assert.match(voice[1].filePath, /^wxfile:\/\/tmp_/);
    assert.ok(fs.readFileSync(sandboxPath(config, voice[1].filePath)).equals(pattern(4096)));
  }));

  it('wx.chooseImage then wx.uploadFile (arrow functions)', () => inMiniProgram(async (env) => {
    env.run('seed002-upload.js');
    await env.spy.settled(1);
    const end = terminal(env.spy.starts[0]);
    assert.equal(end.kind, KIND.SUCCESS, JSON.stringify(end.res));
    assert.deepEqual(JSON.parse(Buffer.from(end.data).toString()).fields, { user: 'test' });
  }));
});

describe('seed 003: 微信小程序-API-网络', () => {
  it('a request, then a second one aborted at once', () => inMiniProgram(async (env) => {
    env.run('seed003-request-and-abort.js');
    await env.spy.settled(2);
    await flush();
    assert.equal(terminal(env.spy.starts[0]).kind, KIND.SUCCESS);
    assert.equal(terminal(env.spy.starts[1]).res.errMsg, 'request:fail abort');
    assert.equal(env.logs.length, 1);
    assert.equal(env.logs[0][0].path, '/echo');
  }));

  it('Page uploadFile (empty filePath, aborted) and downloadFile (aborted)', () => inMiniProgram(async (env) => {
    env.run('seed003-page-upload-download.js');
    const [page] = env.pages;
    page.uploadFile();
    page.downloadFile();
    await env.spy.settled(2);
    await flush();
    const [up, down] = env.spy.starts;
    assert.equal(terminal(up).kind, KIND.FAIL);
    assert.match(terminal(up).res.errMsg, /^uploadFile:fail /);
    assert.equal(terminal(down).res.errMsg, 'downloadFile:fail abort');
    assert.equal(env.calls.filter((c) => c[0] === 'playVoice').length, 0);
  }));

  it('the legacy global socket API: open, closeSocket inside onSocketOpen, close', (t) => inMiniProgram(async (env) => {
    env.run('seed003-legacy-socket.js');
    await flush();
    if (env.spy.notImplemented) {
      t.skip(`not implemented in this build of libwxnet yet: ${env.spy.notImplemented.detail}`);
      return;
    }
    await env.spy.settled(1);
    await flush();
    const [sock] = env.spy.starts;
    assert.deepEqual(sock.options.protocols, ['protocol1']);
    const texts = env.logs.map((l) => l[0]);
    assert.deepEqual(texts, ['WebSocket连接已打开！', 'WebSocket 已关闭！']);
  }));
});

describe('seed 004: 请求数据', () => {
  it('requestTask with every success field logged, aborted at once', () => inMiniProgram(async (env) => {
    env.run('seed004-request-task.js');
    await env.spy.settled(1);
    await flush();
    const [req] = env.spy.starts;
    assert.equal(req.options.method, 'post');
    assert.equal(req.options.dataType, 'json');
    assert.equal(terminal(req).res.errMsg, 'request:fail abort');
    assert.deepEqual(env.logs, []);
  }));
});
