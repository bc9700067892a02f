// Type declarations of the `wxnet` Node package (src/index.js).
/// <reference types="node" />
import { EventEmitter } from 'node:events';

export declare const EventKind: Readonly<{
  SUCCESS: 1; FAIL: 2; HEADERS_RECEIVED: 3; PROGRESS: 4; CHUNK_RECEIVED: 5;
  SOCKET_OPEN: 10; SOCKET_MESSAGE: 11; SOCKET_ERROR: 12; SOCKET_CLOSE: 13;
}>;
export type EventKindValue = (typeof EventKind)[keyof typeof EventKind];

/** One event, copied out of the library (outlives the poll). */
export declare class Event {
  constructor(task: number | bigint, kind: EventKindValue, json: string, data: Buffer | null);
  readonly task: number | bigint;
  readonly kind: EventKindValue;
  /** The raw JSON text of the wx res. */
  readonly json: string;
  /** The binary payload (body, chunk, message), or null. */
  readonly data: Buffer | null;
  readonly kindName: keyof typeof EventKind;
  /** The parsed res (parsed once). */
  readonly res: Record<string, any>;
}

export declare function decodeData(data: Buffer | null, dataKind: string | undefined): any;

/** A C call returned a negative wxnet_status. */
export declare class WxnetError extends Error {
  constructor(status: number, detail: string, call: string);
  readonly status: number;
  /** e.g. 'WXNET_E_INVALID_CONFIG' */
  readonly code: string;
  /** wxnet_last_error() right after the call. */
  readonly detail: string;
  readonly call: string;
  readonly notImplemented: boolean;
}
/** A wx fail result (FAIL event): errMsg and errno as mini-program code sees them. */
export declare class WxFail extends Error {
  constructor(res: { errMsg: string; errno: number });
  readonly errMsg: string;
  readonly errno: number;
  readonly res: Record<string, any>;
}
export declare class AppClosedError extends Error {}
/**
 * A socket's message stream overflowed (the consumer did not keep up): the socket was
 * aborted; thrown by the iterator after the messages buffered before the overflow.
 */
export declare class SocketOverflowError extends Error {
  constructor(state: { messages: number; bytes: number; maxBufferedMessages: number; maxBufferedBytes: number });
  /** Messages buffered (not yet taken) at the overflow. */
  readonly messages: number;
  /** Payload bytes buffered (not yet taken) at the overflow. */
  readonly bytes: number;
  readonly maxBufferedMessages: number;
  readonly maxBufferedBytes: number;
}
export declare const STATUS_CODES: Readonly<Record<number, string>>;

export type Header = Record<string, string>;
export interface Signalled {
  /** Aborts the task when it fires (not sent to the library). */
  signal?: AbortSignal;
}
export interface RequestOptions extends Signalled {
  url: string;
  data?: string | object | ArrayBuffer | ArrayBufferView;
  header?: Header;
  timeout?: number;
  method?: 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT' | string;
  dataType?: string;
  responseType?: 'text' | 'arraybuffer';
  enableHttp2?: boolean;
  enableQuic?: boolean;
  enableCache?: boolean;
  enableChunked?: boolean;
  redirect?: 'follow' | 'manual';
  enableHttpDNS?: boolean;
  httpDNSServiceId?: string;
  forceCellularNetwork?: boolean;
  useHighPerformanceMode?: boolean;
  enableProfile?: boolean;
}
export interface UploadFileOptions extends Signalled {
  url: string; filePath: string; name: string; header?: Header; formData?: Record<string, any>; timeout?: number;
}
export interface DownloadFileOptions extends Signalled {
  url: string; header?: Header; timeout?: number; filePath?: string;
}
export interface ConnectSocketOptions extends Signalled {
  url: string; header?: Header; protocols?: string[]; tcpNoDelay?: boolean; perMessageDeflate?: boolean;
  timeout?: number; forceCellularNetwork?: boolean;
}
export interface AppConfig {
  appId: string;
  version?: string;
  domains?: { request?: string[]; socket?: string[]; uploadFile?: string[]; downloadFile?: string[] };
  urlCheck?: boolean;
  tlsVerify?: boolean;
  allowLan?: boolean;
  networkTimeout?: { request?: number; connectSocket?: number; uploadFile?: number; downloadFile?: number };
  maxTimeoutMs?: number;
  maxConcurrentRequests?: number;
  maxSockets?: number;
  maxDomainsPerType?: number;
  maxDownloadBytes?: number;
  backgroundGraceMs?: number;
  tempDir?: string;
  userDataDir?: string;
  cacheDir?: string;
  caCertificates?: string[];
  resolve?: Record<string, string>;
  cookieJar?: boolean;
}

export interface RequestSuccess {
  errMsg: string;
  statusCode: number;
  header: Header;
  cookies: string[];
  profile: Record<string, any>;
  /** object/array for dataKind "json", string for "text", Buffer for "arraybuffer". */
  data: any;
}
export interface UploadSuccess { errMsg: string; statusCode: number; data: string; profile: Record<string, any> }
export interface DownloadSuccess {
  errMsg: string; statusCode: number; tempFilePath?: string; filePath?: string; profile: Record<string, any>;
}
export interface Hooks { onEvent?: (event: Event) => void }
/** Bounds of a socket's message stream (SocketTask.messages); each an integer >= 1. */
export interface SocketMessagesOptions {
  /** Messages waiting for the consumer at most (default 4096). */
  maxBufferedMessages?: number;
  /** Payload bytes waiting for the consumer at most (default 16777216 = 16 MiB). */
  maxBufferedBytes?: number;
}

export declare class Task extends EventEmitter {
  readonly api: 'request' | 'uploadFile' | 'downloadFile' | 'connectSocket';
  readonly id: number | bigint;
  readonly terminalEvent: Event | null;
  readonly done: boolean;
  isTerminal(event: Event): boolean;
  abort(): void;
  wait(): Promise<Event>;
  result(): Promise<any>;
  resOf(event: Event): any;
}
export declare class RequestTask extends Task { result(): Promise<RequestSuccess> }
export declare class UploadTask extends Task { result(): Promise<UploadSuccess> }
export declare class DownloadTask extends Task { result(): Promise<DownloadSuccess> }
export declare class SocketTask extends Task implements AsyncIterable<string | Buffer> {
  opened(): Promise<{ header: Header; profile: Record<string, any> }>;
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** The messages with the default limits: same as `messages()`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer>;
  /**
   * The messages until the close, bounded; on overflow the socket is aborted and the
   * iterator throws SocketOverflowError after the messages buffered before it.
   * Throws TypeError/RangeError at once for a limit that is not an integer >= 1.
   */
  messages(options?: SocketMessagesOptions): AsyncIterableIterator<string | Buffer>;
  on(event: 'message', listener: (message: string | Buffer) => void): this;
  on(event: 'error', listener: (err: Error & { res: { errMsg: string } }) => void): this;
  on(event: 'open' | 'connected' | 'socketError' | 'close', listener: (res: Record<string, any>) => void): this;
  on(event: 'fail', listener: (err: WxFail) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare class App {
  constructor(config: AppConfig | string, options?: { onCallbackError?: (err: Error, where: string) => void });
  readonly closed: boolean;
  readonly liveTasks: Task[];
  start(api: 'request' | 'uploadFile' | 'downloadFile' | 'connectSocket', options: object | string,
    body?: Buffer | ArrayBuffer | ArrayBufferView | null): Task;
  startRequest(options: RequestOptions): RequestTask;
  startUploadFile(options: UploadFileOptions): UploadTask;
  startDownloadFile(options: DownloadFileOptions): DownloadTask;
  connectSocket(options: ConnectSocketOptions): SocketTask;
  request(options: RequestOptions, hooks?: Hooks): Promise<RequestSuccess>;
  uploadFile(options: UploadFileOptions, hooks?: Hooks): Promise<UploadSuccess>;
  downloadFile(options: DownloadFileOptions, hooks?: Hooks): Promise<DownloadSuccess>;
  /** The real path of a wxfile:// path of this app (wxnet_app_resolve_path). */
  resolvePath(vpath: string): string;
  /** The wxfile:// path of a real path in this app's tempDir or userDataDir. */
  virtualPath(realPath: string): string;
  setBackground(background: boolean): void;
  /** The device changed networks: drop every pooled connection (wxnet_app_reset_connections). */
  resetConnections(): void;
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

export interface Bridge {
  start(api: string, optionsJson: string, body: ArrayBuffer | null,
    sink: (kind: number, json: string, data: ArrayBuffer | null) => void): number | bigint;
  abort(id: number | bigint): void;
  socketSend(id: number | bigint, data: string | ArrayBuffer): void;
  socketClose(id: number | bigint, code: number, reason: string): void;
}
export declare function createBridge(app: App): Bridge;
/** A `wx` object (request, uploadFile, downloadFile, connectSocket, legacy socket API) on an App. */
export declare function createWx(app: App, hooks?: { onCallbackError?: (err: Error) => void }): any;
/** The plain wx layer module: createWx(bridge, hooks) for custom bridges. */
export declare const wxLayer: { createWx(bridge: Bridge, hooks?: { onCallbackError?: (err: Error) => void }): any };
export declare function version(): string;
export declare function statusStr(status: number): string;
/** The C ABI version this binding was written for; loading a library of another version throws. */
export declare const ABI_VERSION: number;
/** The path of the loaded library. */
export declare const LIBRARY_PATH: string;
/** The npm package name of this platform's library, e.g. '@wxnet/wxnet-linux-x64'. */
export declare const PLATFORM_PACKAGE: string;
/** The raw koffi declarations of every export (advanced use). */
export declare const native: Record<string, (...args: any[]) => any>;
