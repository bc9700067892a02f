'use strict';
// The hand-written koffi declarations (src/library.js) match include/wxnet.h: every
// exported function with its return and parameter types, struct wxnet_event's fields,
// and the constants (event kinds, status codes). Skipped, saying so, outside a checkout.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');

const wxnet = require('./wxnet');

const HEADER = path.join(__dirname, '..', '..', '..', 'include', 'wxnet.h');
const LIBRARY_JS = path.join(path.dirname(require.resolve(process.env.WXNET_NODE_PACKAGE || '..')), 'library.js');
const skip = fs.existsSync(HEADER) ? false : `SKIPPED: ${HEADER} not found`;

// Integers compare by signedness and width; every data pointer is 'ptr', every
// function pointer 'fn', a returned `const char *` is 'str'.
const KINDS = {
  void: 'void', int32_t: 'i32', wxnet_status: 'i32', uint64_t: 'u64', wxnet_task_id: 'u64',
  size_t: 'u64', bool: 'bool',
};
const CALLBACKS = new Set(['wxnet_event_callback', 'wxnet_log_callback', 'wxnet_wake_callback']);

function kind(decl, isReturn = false) {
  const words = decl.replace(/\b_Out_\b/g, '').replace(/\*/g, ' * ').split(/\s+/).filter(Boolean);
  if (decl.includes('(*') || CALLBACKS.has(words[0])) return 'fn';
  if (words.includes('*')) return isReturn && words[0] === 'const' && words[1] === 'char' ? 'str' : 'ptr';
  const base = words.find((w) => w !== 'const');
  if (!(base in KINDS)) throw new Error(`unknown C type in ${JSON.stringify(decl)}`);
  return KINDS[base];
}

function splitParams(params) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const ch of params) {
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; continue; }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p && p !== 'void');
}

/** @returns {Map<string, string>} name -> "ret(args)" */
function prototypes(text) {
  const map = new Map();
  const re = /([A-Za-z_][\w ]*?\**)\s*(wxnet_\w+)\(((?:[^()]|\([^()]*\))*)\)/g;
  for (const m of text.matchAll(re)) {
    map.set(m[2], `${kind(m[1], true)}(${splitParams(m[3]).map((p) => kind(p)).join(',')})`);
  }
  return map;
}

describe('koffi declarations match include/wxnet.h', { skip }, () => {
  it('every function, with its signature', () => {
    // Android-only declarations (wxnet_android_init) are not part of a desktop binding.
    const header = fs.readFileSync(HEADER, 'utf8').replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '').replace(/#if defined\(__ANDROID__\)[\s\S]*?#endif/g, '');
    const want = prototypes(header.split('\n').filter((l) => !l.startsWith('typedef')).join('\n'));
    assert.ok(want.size >= 17, `parser found ${[...want.keys()]}`);
    const source = fs.readFileSync(LIBRARY_JS, 'utf8');
    const got = new Map();
    for (const m of source.matchAll(/lib\.func\('([^']*)'\)/g)) for (const [k, v] of prototypes(m[1])) got.set(k, v);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [name, sig] of want) assert.equal(got.get(name), sig, name);
    assert.deepEqual(Object.keys(wxnet.native).sort(), [...want.keys()].sort());
  });

  it('struct wxnet_event', () => {
    const header = fs.readFileSync(HEADER, 'utf8');
    const body = /typedef struct wxnet_event \{([\s\S]*?)\} wxnet_event;/.exec(header)[1].replace(/\/\/[^\n]*/g, '');
    const want = [...body.matchAll(/^\s*((?:const\s+)?\w+)\s*(\**)\s*(\w+);/gm)].map((m) => `${m[3]}:${kind(`${m[1]} ${m[2]}`)}`);
    const source = fs.readFileSync(LIBRARY_JS, 'utf8');
    const struct = /koffi\.struct\('wxnet_event', \{([\s\S]*?)\}\)/.exec(source)[1];
    const got = [...struct.matchAll(/(\w+): '([^']+)'/g)].map((m) => `${m[1]}:${kind(m[2])}`);
    assert.deepEqual(got, want);
  });

  it('constants', () => {
    const defines = Object.fromEntries([...fs.readFileSync(HEADER, 'utf8').matchAll(/#define (WXNET_\w+) (-?\d+)/g)].map((m) => [m[1], Number(m[2])]));
    const events = Object.fromEntries(Object.entries(defines).filter(([k]) => k.startsWith('WXNET_EVENT_')).map(([k, v]) => [k.slice('WXNET_EVENT_'.length), v]));
    assert.deepEqual({ ...wxnet.EventKind }, events);
    const statuses = Object.fromEntries(Object.entries(defines).filter(([k]) => k.startsWith('WXNET_E_')).map(([k, v]) => [String(v), k]));
    assert.deepEqual({ ...wxnet.STATUS_CODES }, statuses);
    assert.equal(wxnet.ABI_VERSION, defines.WXNET_ABI_VERSION);
    assert.equal(wxnet.native.wxnet_abi_version(), defines.WXNET_ABI_VERSION);
    assert.equal(wxnet.version(), `${defines.WXNET_VERSION_MAJOR}.${defines.WXNET_VERSION_MINOR}.${defines.WXNET_VERSION_PATCH}`);
  });
});
