'use strict';
// wx.js embedded in QuickJS (the real engine, compiled to WebAssembly by the
// quickjs-emscripten package), the way a container embeds it: evaluated as a classic
// script, with a bridge written in the engine, events delivered by the host through
// the sinks, and the host running the engine's pending jobs (JS_ExecutePendingJob)
// after each event: wx.js runs the callbacks of socket send/close and of calls it
// rejects itself as promise jobs, so without that step those never run.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const { getQuickJS } = require('quickjs-emscripten');

// The installed package's copy when $WXNET_WX_JS names it (scripts/test-node.sh), else this checkout's.
const SOURCE = fs.readFileSync(process.env.WXNET_WX_JS || path.join(__dirname, '..', 'wx.js'), 'utf8');

// The container side inside the engine: a bridge that records calls and keeps sinks.
const CONTAINER = `
var calls = [], sinks = {}, nextId = 1, log = [];
function bytes(text) {            // ASCII text -> ArrayBuffer (the payload copy a bridge makes)
  var ab = new ArrayBuffer(text.length), view = new Uint8Array(ab);
  for (var i = 0; i < text.length; i++) view[i] = text.charCodeAt(i);
  return ab;
}
var bridge = {
  start: function (api, optionsJson, body, sink) { var id = nextId++; sinks[id] = sink; calls.push([api, JSON.parse(optionsJson).url]); return id; },
  abort: function (id) { calls.push(['abort', id]); },
  socketSend: function (id, data) { calls.push(['send', id, data]); },
  socketClose: function (id, code, reason) { calls.push(['close', id, code, reason]); }
};
var wx = wxnetJs.createWx(bridge, { onCallbackError: function (e) { log.push('error ' + e); } });
wx.request({ url: 'https://api.example.com/json',
  success: function (res) { log.push('success ' + res.statusCode + ' ' + JSON.stringify(res.data)); },
  complete: function () { log.push('complete'); } });
var socket = wx.connectSocket({ url: 'wss://ws.example.com/chat' });
socket.onOpen(function () { log.push('open'); socket.send({ data: 'hi', success: function (r) { log.push('sent ' + r.errMsg); } }); });
socket.onMessage(function (m) { log.push('message ' + m.data); });
socket.onClose(function (c) { log.push('close ' + c.code + ' ' + c.reason); });
`;

let QuickJS;
let vm;

function evaluate(code) {
  const handle = vm.unwrapResult(vm.evalCode(code));
  const value = vm.dump(handle);
  handle.dispose();
  return value;
}

/** The host's step after each event: JS_ExecutePendingJob until none is left. */
function runPendingJobs() {
  vm.unwrapResult(vm.runtime.executePendingJobs());
}

before(async () => {
  QuickJS = await getQuickJS();
  vm = QuickJS.newContext();
});
after(() => vm.dispose());

describe('wx.js in QuickJS', () => {
  it('loads as a classic script in a realm with no host API', () => {
    evaluate(SOURCE);
    assert.equal(evaluate('typeof require + typeof setTimeout + typeof TextDecoder + typeof wxnetJs.createWx'), 'undefinedundefinedundefinedfunction');
    evaluate(CONTAINER);
    assert.deepEqual(evaluate('calls'), [['request', 'https://api.example.com/json'], ['connectSocket', 'wss://ws.example.com/chat']]);
  });

  it('a request: its callbacks run from the sink', () => {
    evaluate(`sinks[1](1, '{"errMsg":"request:ok","statusCode":200,"header":{},"cookies":[],"profile":{},"dataKind":"json"}', bytes('{"n":1}'))`);
    assert.deepEqual(evaluate('log'), ['success 200 {"n":1}', 'complete']);
  });

  it('a socket: send callbacks run only once the host runs the pending jobs', () => {
    evaluate(`sinks[2](1, '{"errMsg":"connectSocket:ok"}', null); sinks[2](10, '{"header":{},"profile":{}}', null)`);
    assert.deepEqual(evaluate('log.slice(2)'), ['open'], 'send\'s success is a promise job, not run yet');
    runPendingJobs();
    assert.deepEqual(evaluate('log.slice(2)'), ['open', 'sent sendSocketMessage:ok']);
    evaluate(`sinks[2](11, '{"dataKind":"text"}', bytes('echo'))`);
    runPendingJobs();
    evaluate(`sinks[2](13, '{"code":1000,"reason":"bye"}', null)`);
    runPendingJobs();
    assert.deepEqual(evaluate('log.slice(2)'), ['open', 'sent sendSocketMessage:ok', 'message echo', 'close 1000 bye']);
    assert.deepEqual(evaluate('calls.slice(2)'), [['send', 2, 'hi']]);
  });

  it('a call wx.js rejects itself fails in a pending job', () => {
    evaluate(`wx.request({ url: 'https://api.example.com/x', data: { toJSON: function () { throw new Error('no JSON'); } },
      fail: function (e) { log.push('fail ' + e.errMsg); } })`);
    const before = evaluate('log.length');
    runPendingJobs();
    assert.equal(evaluate('log.length'), before + 1);
    assert.equal(evaluate('log[log.length - 1]'), 'fail request:fail parameter error: no JSON');
  });
});
