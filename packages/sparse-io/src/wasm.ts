/**
 * A tiny, browser-safe loader for the hand-written WebAssembly kernels of
 * the packages (embedded as base64, so no file access and no build step at
 * runtime). The part of the WebAssembly JS API used is declared locally:
 * the project's `lib` (ES2022, no DOM) has no WebAssembly types, and the
 * libraries must not depend on Node's.
 */

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}

/** A module instance's linear memory. `grow` detaches the old `buffer`. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A module instance: its exports (functions, memories, globals). */
export interface WasmInstance {
  readonly exports: object;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** Bytes per page of WebAssembly linear memory. */
export const WASM_PAGE_BYTES = 65536;

/** Pages of the largest 32-bit WebAssembly memory (4 GiB). */
export const WASM_MAX_PAGES = 65536;

function wasmApi(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return api !== undefined && api !== null && typeof api.Module === "function" ? api : null;
}

/** Decodes standard base64 (with or without `=` padding); other characters are not expected. */
export function decodeBase64(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const lookup = new Uint8Array(128);
  for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--; // "="
  const length = (end * 3) >> 2;
  const out = new Uint8Array(length);
  for (let i = 0, o = 0; i < end; i += 4) {
    const n =
      (lookup[text.charCodeAt(i)] << 18) |
      (lookup[text.charCodeAt(i + 1)] << 12) |
      (lookup[text.charCodeAt(i + 2)] << 6) |
      lookup[text.charCodeAt(i + 3)];
    if (o < length) out[o++] = n >> 16;
    if (o < length) out[o++] = (n >> 8) & 255;
    if (o < length) out[o++] = n & 255;
  }
  return out;
}

/** Compiled modules by their base64 text (null: cannot run here). */
const modules = new Map<string, WasmModule | null>();

/**
 * The module whose bytes are `base64`, compiled synchronously the first
 * time and cached for the process (or worker). Null when this platform has
 * no WebAssembly, or rejects the module: a module using fixed-width SIMD
 * fails validation where SIMD is unsupported, so null also means "no SIMD".
 * Never throws.
 *
 * Synchronous compilation keeps the kernels' APIs synchronous; browsers
 * allow it on the main thread only for small modules (Chrome: 4 KiB), which
 * the hand-written kernels are.
 */
export function compileWasm(base64: string): WasmModule | null {
  const cached = modules.get(base64);
  if (cached !== undefined) return cached;
  let module: WasmModule | null = null;
  const api = wasmApi();
  if (api !== null) {
    try {
      const bytes = decodeBase64(base64);
      if (api.validate(bytes)) module = new api.Module(bytes);
    } catch {
      module = null;
    }
  }
  modules.set(base64, module);
  return module;
}

/**
 * A new instance of a module from {@link compileWasm} (each instance has
 * its own memory when the module defines one). Returns null when
 * instantiation fails (e.g. out of memory).
 */
export function instantiateWasm(module: WasmModule, imports: object = {}): WasmInstance | null {
  const api = wasmApi();
  if (api === null) return null;
  try {
    return new api.Instance(module, imports);
  } catch {
    return null;
  }
}

/**
 * A new shared WebAssembly memory of `bytes` bytes (rounded up to pages,
 * zero-filled), able to grow to `maximum` pages (default the 4 GiB limit):
 * its `buffer` is a SharedArrayBuffer that worker threads see without a
 * copy, and a module importing a shared memory can be instantiated over
 * it on every thread. Null where shared memory is unavailable (no
 * WebAssembly threads, a browser page that is not cross-origin isolated)
 * or the memory cannot be allocated. Never throws.
 */
export function createSharedWasmMemory(
  bytes: number,
  maximum: number = WASM_MAX_PAGES,
): WasmMemory | null {
  const api = wasmApi();
  const initial = Math.ceil(bytes / WASM_PAGE_BYTES);
  if (api === null || typeof api.Memory !== "function" || !(initial <= maximum)) return null;
  try {
    const memory = new api.Memory({ initial, maximum, shared: true });
    const shared =
      typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    return shared ? memory : null;
  } catch {
    return null;
  }
}
