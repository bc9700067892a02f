'use strict';
/**
 * Finding, loading and declaring the wxnet shared library with koffi.
 *
 * This module is the only place that knows the C signatures (include/wxnet.h, C ABI
 * version 1). Search order for the library:
 *   1. `$WXNET_LIBRARY` (an error if set to a missing file: a typo is never hidden);
 *   2. the platform package `@wxnet/wxnet-<platform>-<arch>` (an optional dependency
 *      of the published package, as koffi ships `@koromix/koffi-<platform>-<arch>`);
 *   3. `target/debug` then `target/release` of the first parent directory of this
 *      file, or of the current directory, whose Cargo.toml is the wxnet crate.
 * @module wxnet/library
 */

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

const FILE_NAME = { darwin: 'libwxnet.dylib', win32: 'wxnet.dll' }[process.platform] || 'libwxnet.so';

/** The npm package holding this platform's library (built by scripts/build-node-packages.sh). */
const PLATFORM_PACKAGE = `@wxnet/wxnet-${process.platform}-${process.arch}`;

/** @returns {string|null} the library inside the platform package, if installed. */
function platformPackageLibrary() {
  try {
    return require.resolve(`${PLATFORM_PACKAGE}/${FILE_NAME}`);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

/** @returns {string[]} workspace roots (directories holding the wxnet Cargo.toml). */
function workspaceRoots() {
  const roots = [];
  for (const start of [__dirname, process.cwd()]) {
    let dir = path.resolve(start);
    for (;;) {
      const manifest = path.join(dir, 'Cargo.toml');
      if (fs.existsSync(manifest) && fs.readFileSync(manifest, 'utf8').includes('name = "wxnet"')) {
        if (!roots.includes(dir)) roots.push(dir);
        break;
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return roots;
}

/**
 * The path of the library to load.
 * @returns {string}
 * @throws {Error} when no library is found.
 */
function findLibrary() {
  const explicit = process.env.WXNET_LIBRARY;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`$WXNET_LIBRARY is set to ${JSON.stringify(explicit)}, which does not exist`);
    return path.resolve(explicit);
  }
  const packaged = platformPackageLibrary();
  if (packaged) return packaged;
  const tried = [`${PLATFORM_PACKAGE}/${FILE_NAME} (not installed)`];
  for (const root of workspaceRoots()) {
    for (const profile of ['debug', 'release']) tried.push(path.join(root, 'target', profile, FILE_NAME));
  }
  const found = tried.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`cannot find the wxnet shared library for ${process.platform}-${process.arch}: install ${PLATFORM_PACKAGE}, set $WXNET_LIBRARY, or run \`cargo build\` in a wxnet checkout. Tried:\n  ${tried.join('\n  ')}`);
  }
  return found;
}

const LIBRARY_PATH = findLibrary();
const lib = koffi.load(LIBRARY_PATH);

/** `struct wxnet_event`; `json` and `data` stay raw pointers (BigInt), decoded by length. */
const WxnetEvent = koffi.struct('wxnet_event', {
  task: 'uint64_t',
  kind: 'int32_t',
  json: 'void *',
  json_len: 'size_t',
  data: 'void *',
  data_len: 'size_t',
  task_user_data: 'void *',
});
const EventCallback = koffi.proto('void wxnet_event_callback(void *app_user_data, const wxnet_event *event)');
const WakeCallback = koffi.proto('void wxnet_wake_callback(void *ud)');
const LogCallback = koffi.proto('void wxnet_log_callback(void *ud, int32_t level, const char *msg, size_t len)');

/** Every export of wxnet.h, declared. Pointers are BigInt values (koffi 3). */
const native = {
  wxnet_abi_version: lib.func('int32_t wxnet_abi_version(void)'),
  wxnet_version: lib.func('const char *wxnet_version(void)'),
  wxnet_status_str: lib.func('const char *wxnet_status_str(int32_t status)'),
  wxnet_last_error: lib.func('const char *wxnet_last_error(void)'),
  wxnet_set_log_callback: lib.func('int32_t wxnet_set_log_callback(wxnet_log_callback *cb, void *ud, int32_t max_level)'),
  wxnet_app_new: lib.func('int32_t wxnet_app_new(const char *config_json, size_t config_len, wxnet_event_callback *callback, void *app_user_data, _Out_ void **out_app)'),
  wxnet_app_free: lib.func('int32_t wxnet_app_free(void *app)'),
  wxnet_app_set_background: lib.func('int32_t wxnet_app_set_background(void *app, bool background)'),
  wxnet_app_reset_connections: lib.func('int32_t wxnet_app_reset_connections(void *app)'),
  wxnet_app_poll: lib.func('int32_t wxnet_app_poll(void *app, int32_t timeout_ms, _Out_ void **out_event)'),
  wxnet_app_set_wakeup: lib.func('int32_t wxnet_app_set_wakeup(void *app, wxnet_wake_callback *wake, void *ud)'),
  wxnet_event_free: lib.func('void wxnet_event_free(void *event)'),
  wxnet_request: lib.func('int32_t wxnet_request(void *app, const char *options_json, size_t options_len, const uint8_t *body, size_t body_len, void *task_user_data, _Out_ uint64_t *out_task)'),
  wxnet_upload_file: lib.func('int32_t wxnet_upload_file(void *app, const char *options_json, size_t options_len, void *task_user_data, _Out_ uint64_t *out_task)'),
  wxnet_download_file: lib.func('int32_t wxnet_download_file(void *app, const char *options_json, size_t options_len, void *task_user_data, _Out_ uint64_t *out_task)'),
  wxnet_connect_socket: lib.func('int32_t wxnet_connect_socket(void *app, const char *options_json, size_t options_len, void *task_user_data, _Out_ uint64_t *out_task)'),
  wxnet_app_resolve_path: lib.func('int32_t wxnet_app_resolve_path(void *app, const char *vpath, size_t vpath_len, _Out_ void **out_path, _Out_ size_t *out_len)'),
  wxnet_app_virtual_path: lib.func('int32_t wxnet_app_virtual_path(void *app, const char *real_path, size_t real_len, _Out_ void **out_path, _Out_ size_t *out_len)'),
  wxnet_string_free: lib.func('void wxnet_string_free(void *s)'),
  wxnet_task_abort: lib.func('int32_t wxnet_task_abort(uint64_t task)'),
  wxnet_socket_send: lib.func('int32_t wxnet_socket_send(uint64_t task, const uint8_t *data, size_t len, bool binary)'),
  wxnet_socket_close: lib.func('int32_t wxnet_socket_close(uint64_t task, int32_t code, const char *reason, size_t reason_len)'),
};

/** The C ABI version this binding declares (WXNET_ABI_VERSION of include/wxnet.h). */
const ABI_VERSION = 1;
if (native.wxnet_abi_version() !== ABI_VERSION) {
  throw new Error(`${LIBRARY_PATH} implements C ABI version ${native.wxnet_abi_version()}; this binding needs version ${ABI_VERSION}: install the wxnet packages that match the library`);
}

/**
 * Copies `len` bytes at a borrowed pointer into a new Buffer (empty for NULL/0).
 * @param {bigint|null} ptr
 * @param {number} len
 * @returns {Buffer}
 */
function readBytes(ptr, len) {
  if (!ptr || !len) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, len)));
}

module.exports = { ABI_VERSION, PLATFORM_PACKAGE, koffi, native, readBytes, LIBRARY_PATH, WxnetEvent, EventCallback, WakeCallback, LogCallback };
