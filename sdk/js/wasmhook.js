// Write wasmhook blocks in JavaScript.
//
// A block is a WASI preview-2 component that wasmhook runs once per webhook delivery. This
// module hides the ComponentizeJS glue for the `wasmhook:block` world and gives typed access to
// the delivery:
//
//     import { block, WasmhookError, log } from "wasmhook";
//
//     export const run = block((ctx) => {
//       const order = ctx.data();
//       log.info(`checking order ${order.id}`);
//       if (!order.amount_cents) throw new WasmhookError("an order must have an amount", "empty_order");
//       return { order: order.id, approved: order.amount_cents < 100000 };
//     });
//
// Build it with `node sdk/js/build.mjs my-block.js -o my-block.wasm` and upload the `.wasm`.
// What `block` does for you:
// - whatever the function returns is encoded as the JSON output (an `HttpResponse` shapes a
//   trigger webhook's HTTP answer);
// - a `WasmhookError` becomes a structured failure (message + optional code); any other throw
//   becomes a failure with code `unhandled_exception`, its stack in the execution's log;
// - `log.*` and `console.*` go to the execution's log (`log.*` leveled, filtered by `LOG_LEVEL`,
//   default `info`; `console.log`/`console.error` as stdout/stderr lines).
//
// Module top-level code runs once, at build time (the engine is snapshotted); every delivery
// starts from that snapshot, so do per-delivery work inside the function.

import { emit } from "wasmhook:block/logging@0.1.0";
import { getEnvironment } from "wasi:cli/environment@0.2.12";
import { getDirectories } from "wasi:filesystem/preopens@0.2.12";

/** Error code of a failure caused by missing or malformed webhook data. */
export const INVALID_DATA = "invalid_data";
/** Error code when the block's return value cannot be encoded as JSON. */
export const INVALID_OUTPUT = "invalid_output";
/** Error code when the block threw something other than a `WasmhookError`. */
export const UNHANDLED_EXCEPTION = "unhandled_exception";

/** The code (or code prefix, `retryable:<code>`) that marks a failure worth another attempt. */
export const RETRYABLE = "retryable";

/**
 * A block's failure: a message for people and an optional machine-readable code. With
 * `{ retryable: true }` the delivery is tried again under the block's retry policy (the code
 * becomes `retryable`, or `retryable:<code>`).
 */
export class WasmhookError extends Error {
  constructor(message, code, options = {}) {
    super(message);
    this.name = "WasmhookError";
    this.code = options.retryable ? (code ? `${RETRYABLE}:${code}` : RETRYABLE) : code;
  }
}

/** The guest directory the host mounts for every run. */
const GUEST_DIR = "/webhook";

/** Reads a file the host wrote under `/webhook` (the only directory a block can see). */
function readGuestFile(path) {
  if (!path.startsWith(`${GUEST_DIR}/`)) {
    throw new WasmhookError(`${path} is not under ${GUEST_DIR}`, INVALID_DATA);
  }
  const preopen = getDirectories().find(([, name]) => name === GUEST_DIR);
  if (!preopen) throw new WasmhookError(`${GUEST_DIR} is not mounted`, INVALID_DATA);
  let file;
  try {
    file = preopen[0].openAt({}, path.slice(GUEST_DIR.length + 1), {}, { read: true });
  } catch (e) {
    throw new WasmhookError(`cannot open ${path}: ${describe(e)}`, INVALID_DATA);
  }
  const chunks = [];
  let offset = 0n;
  for (;;) {
    const [chunk, end] = file.read(1n << 20n, offset);
    chunks.push(chunk);
    offset += BigInt(chunk.length);
    if (end || chunk.length === 0) break;
  }
  const bytes = new Uint8Array(Number(offset));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function describe(e) {
  return e && e.payload !== undefined ? String(e.payload) : String(e);
}

function parseJson(bytes, what) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new WasmhookError(`${what} is not JSON: ${e.message}`, INVALID_DATA);
  }
}

/** Everything the host handed to this run. `block` passes one in. */
export class Context {
  constructor() {
    this._env = Object.fromEntries(getEnvironment());
  }

  /** The delivery's data (`WEBHOOK_DATA_FILE`) parsed as JSON. */
  data() {
    return parseJson(this.dataBytes(), "webhook data");
  }

  /** The raw bytes of the data file. */
  dataBytes() {
    const path = this._env.WEBHOOK_DATA_FILE;
    if (!path) throw new WasmhookError("WEBHOOK_DATA_FILE is not set", INVALID_DATA);
    return readGuestFile(path);
  }

  /** The request body exactly as sent (trigger webhooks); elsewhere the data file. */
  body() {
    const path = this._env.WEBHOOK_BODY_FILE;
    return path ? readGuestFile(path) : this.dataBytes();
  }

  /** The request's `Content-Type` as sent, when there was one. */
  contentType() {
    return this._env.WEBHOOK_CONTENT_TYPE || undefined;
  }

  /** One environment variable of this run, or `fallback`. */
  env(name, fallback) {
    return Object.prototype.hasOwnProperty.call(this._env, name) ? this._env[name] : fallback;
  }

  /** This run's execution id (`EXECUTION_ID`). */
  executionId() {
    return this._env.EXECUTION_ID;
  }

  /** The id of the block being run (`BLOCK_ID`). */
  blockId() {
    return this._env.BLOCK_ID;
  }

  /** The dataset key when the block runs as part of a doc (`DATASET_KEY`). */
  datasetKey() {
    return this._env.DATASET_KEY;
  }

  /** The trigger webhook that delivered this call (`WEBHOOK_ID`). */
  webhookId() {
    return this._env.WEBHOOK_ID;
  }

  /** Request headers, lower-cased, without credentials (trigger webhooks with `captureRequest`). */
  headers() {
    const path = this._env.WEBHOOK_HEADERS_FILE;
    return path ? parseJson(readGuestFile(path), path) : {};
  }

  /** `{method, query, sourceIp, receivedAt}` of the request (trigger webhooks with `captureRequest`). */
  request() {
    const path = this._env.WEBHOOK_REQUEST_FILE;
    return path ? parseJson(readGuestFile(path), path) : undefined;
  }
}

const LEVELS = ["trace", "debug", "info", "warn", "error"];
let threshold = 2;

function logAt(level, args) {
  if (LEVELS.indexOf(level) < threshold) return;
  emit(level, args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
}

/** Leveled logging into the execution's log (`wasmhook:block/logging`). */
export const log = {
  trace: (...args) => logAt("trace", args),
  debug: (...args) => logAt("debug", args),
  info: (...args) => logAt("info", args),
  warn: (...args) => logAt("warn", args),
  error: (...args) => logAt("error", args),
};

/** A response a trigger webhook sends as-is (the host's `$http` output convention). */
export class HttpResponse {
  constructor(status, body, { contentType, headers } = {}) {
    this.status = status;
    this.body = body;
    this.contentType = contentType;
    this.headers = { ...(headers || {}) };
  }

  /** Adds a header (framing headers such as `content-length` are refused by the host). */
  header(name, value) {
    this.headers[name] = value;
    return this;
  }

  toJSON() {
    const shape = { status: this.status };
    if (Object.keys(this.headers).length) shape.headers = this.headers;
    if (this.contentType !== undefined) shape.contentType = this.contentType;
    if (this.body !== undefined) shape.body = this.body;
    return { $http: shape };
  }
}

/**
 * Wraps the function that runs once per delivery into the world's `run` export:
 * `export const run = block((ctx) => value)`.
 */
export function block(fn) {
  return function run() {
    const ctx = new Context();
    threshold = Math.max(0, LEVELS.indexOf((ctx.env("LOG_LEVEL", "info") || "info").toLowerCase()));
    let value;
    try {
      value = fn(ctx);
    } catch (e) {
      if (e instanceof WasmhookError) throw { message: e.message, code: e.code };
      emit("error", `unhandled exception: ${e && e.stack ? `${e}\n${e.stack}` : String(e)}`);
      const name = e && e.name ? e.name : "Error";
      throw { message: `${name}: ${e && e.message !== undefined ? e.message : String(e)}`, code: UNHANDLED_EXCEPTION };
    }
    let text;
    try {
      text = JSON.stringify(value === undefined ? null : value);
    } catch (e) {
      throw { message: `the block's output is not encodable as JSON: ${e.message}`, code: INVALID_OUTPUT };
    }
    return text;
  };
}
