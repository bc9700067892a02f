'use strict';
// Node idioms: AbortSignal on the promise API, sockets as async iterables with the
// standard 'error' event, messages that name the C function once, and the .d.ts types
// declaring every export.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const wxnet = require('./wxnet');
const { startServer, makeConfig, API, CDN, WS } = require('./support');

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

async function withApp(fn) {
  const errors = [];
  const app = new wxnet.App(makeConfig(server), { onCallbackError: (err) => errors.push(err) });
  try {
    return await fn(app);
  } finally {
    await app.close();
    assert.deepEqual(errors, []);
  }
}

describe('AbortSignal', () => {
  it('AbortSignal.timeout(100) aborts a hanging request and rejects with its reason', () => withApp(async (app) => {
    const task = app.startRequest({ url: `${API}/hang`, signal: AbortSignal.timeout(100) });
    await assert.rejects(task.result(), (err) => {
      assert.equal(err.name, 'TimeoutError');
      return true;
    });
    assert.equal(task.terminalEvent.res.errMsg, 'request:fail abort');
    await assert.rejects(app.request({ url: `${API}/hang`, signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });
  }));

  it('an AbortController aborts a download; an already aborted signal throws before starting', () => withApp(async (app) => {
    const controller = new AbortController();
    const pending = app.downloadFile({ url: `${CDN}/hang`, signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(app.liveTasks.length, 0);
    assert.throws(() => app.startRequest({ url: `${API}/json`, signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.throws(() => app.startRequest({ url: `${API}/json`, signal: 'soon' }), TypeError);
    const res = await app.request({ url: `${API}/json`, signal: AbortSignal.timeout(20000) });
    assert.equal(res.statusCode, 200); // a signal that never fires changes nothing
  }));
});

describe('socket idioms', () => {
  it('for await over a socket yields its messages and ends at the close', () => withApp(async (app) => {
    const socket = app.connectSocket({ url: `${WS}/ws/echo` });
    await socket.opened();
    socket.send('one');
    socket.send(Buffer.from([2]));
    const got = [];
    for await (const message of socket) {
      got.push(message);
      if (got.length === 2) socket.close(3001, 'done');
    }
    assert.deepEqual(got, ['one', Buffer.from([2])]);
    assert.equal(socket.done, true);
    assert.equal(socket.terminalEvent.res.code >= 1000, true);
  }));

  it('leaving the loop early closes the socket', () => withApp(async (app) => {
    const socket = app.connectSocket({ url: `${WS}/ws/echo` });
    await socket.opened();
    socket.send('first');
    for await (const message of socket) {
      assert.equal(message, 'first');
      break;
    }
    const end = await socket.wait();
    assert.equal(end.kindName, 'SOCKET_CLOSE');
  }));

  it("a rejected call makes the iteration throw WxFail; 'error' is emitted to listeners", () => withApp(async (app) => {
    const socket = app.connectSocket({ url: 'wss://not-listed.wxnet.test/ws' });
    await assert.rejects(async () => {
      for await (const _ of socket) assert.fail('no message expected');
    }, wxnet.WxFail);
    assert.equal(typeof wxnet.SocketTask.prototype[Symbol.asyncIterator], 'function');
    // 'error' carries the SOCKET_ERROR res when someone listens.
    const plain = new wxnet.SocketTask();
    const seen = [];
    plain.on('error', (err) => seen.push(err));
    plain._deliver(new wxnet.Event(1, wxnet.EventKind.SOCKET_ERROR, '{"errMsg":"connectSocket:fail boom"}', null));
    assert.equal(seen.length, 1);
    assert.equal(seen[0].message, 'connectSocket:fail boom');
    assert.deepEqual(seen[0].res, { errMsg: 'connectSocket:fail boom' });
  }));
});

describe('sandbox paths', () => {
  it('a download resolves to its real file and back; escapes are refused', () => withApp(async (app) => {
    const res = await app.downloadFile({ url: `${CDN}/bytes/1000` });
    const real = app.resolvePath(res.tempFilePath);
    assert.equal(fs.statSync(real).size, 1000);
    assert.equal(app.virtualPath(real), res.tempFilePath);
    assert.throws(() => app.resolvePath('wxfile://usr/../secret'), {
      message: "wxnet_app_resolve_path: invalid argument (-2): invalid file path: empty, '.' or '..' segment",
    });
    assert.throws(() => app.virtualPath('/etc/passwd'), /outside the app's tempDir and userDataDir/);
  }));
});

describe('messages', () => {
  const cases = [
    ['{"appId":"wx1","networkTimeout":{"request":5',
      'wxnet_app_new: invalid config (-3): the config is not complete JSON: it ends at line 1 column 44'],
    ['{"appId":"wx1","networkTimeout":{"request":"5"}}',
      'wxnet_app_new: invalid config (-3): networkTimeout.request: invalid type: string "5", expected a whole number >= 0 at line 1 column 46'],
    ['{"appId":"wx1","domains":[]}', 'wxnet_app_new: invalid config (-3): domains: must be an object, not an array'],
  ];
  for (const [config, message] of cases) {
    it(`exact message for ${config}`, () => {
      assert.throws(() => new wxnet.App(config), (err) => {
        assert.equal(err.message, message);
        assert.equal(err.message.split('wxnet_app_new').length, 2);
        return true;
      });
    });
  }
});

describe('types', () => {
  it('index.d.ts declares every runtime export', () => {
    const dts = fs.readFileSync(path.join(path.dirname(require.resolve(process.env.WXNET_NODE_PACKAGE || '..')), '..', 'types', 'index.d.ts'), 'utf8');
    for (const name of Object.keys(wxnet)) {
      assert.match(dts, new RegExp(`export (declare )?(const|function|class|enum|interface|type|namespace) ${name}\\b`), `${name} is not declared`);
    }
  });
});
