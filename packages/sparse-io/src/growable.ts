/** Largest number of entries a 32-bit index can address. */
export const MAX_INT32 = 0x7fffffff;

type TypedArrayConstructor<T> = {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * Grows `array` to at least `minLength` entries, keeping its content: in x1.5
 * steps, or to exactly `minLength` when `exact`.
 */
export function grow<T extends Int32Array | Float32Array | Uint8Array>(
  array: T,
  minLength: number,
  exact = false,
): T {
  let length = exact ? minLength : Math.max(16, Math.ceil(array.length * 1.5));
  while (length < minLength) length = Math.ceil(length * 1.5);
  length = Math.min(length, MAX_INT32);
  const next = new (array.constructor as TypedArrayConstructor<T>)(length);
  next.set(array);
  return next;
}

/**
 * The first `length` entries of `array` as the final result: copied into an
 * exact-size array on a `SharedArrayBuffer` when `shared` (so worker threads
 * can read it without copies); otherwise `array` itself when it fits
 * exactly, a view of its first `length` entries when at most 1/8 of it is
 * spare (a copy of a large array costs more than that memory), else an
 * exact-size copy.
 */
export function finalize<T extends Int32Array | Float32Array>(
  array: T,
  length: number,
  shared: boolean,
): T {
  const ctor = array.constructor as TypedArrayConstructor<T>;
  if (shared) {
    const out = new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT), 0, length);
    out.set(array.subarray(0, length));
    return out;
  }
  if (
    array.length === length &&
    array.byteOffset === 0 &&
    array.buffer.byteLength === array.byteLength
  ) {
    return array;
  }
  if (array.length - length <= array.length >> 3) return array.subarray(0, length) as T;
  return array.slice(0, length) as T;
}

/** A fresh exact-size copy of the first `length` entries (on shared memory when asked). */
export function copyExact<T extends Int32Array | Float32Array>(
  array: T,
  length: number,
  shared: boolean,
): T {
  const ctor = array.constructor as TypedArrayConstructor<T>;
  const out = shared
    ? new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT), 0, length)
    : new ctor(length);
  out.set(array.subarray(0, length));
  return out;
}
