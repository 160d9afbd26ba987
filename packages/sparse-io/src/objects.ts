/**
 * A shallow copy of `o` without the keys whose value is `undefined`, so
 * that `{ ...DEFAULTS, ...stripUndefined(options) }` keeps a default where
 * the caller passed `{ key: undefined }` (a plain spread would overwrite it
 * with `undefined`). Other falsy values (`0`, `false`, `null`, `""`) are
 * kept. Does not modify `o`.
 */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(o) as (keyof T)[]) {
    if (o[key] !== undefined) out[key] = o[key];
  }
  return out;
}
