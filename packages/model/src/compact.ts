/**
 * The compact encodings of model sections (`docs/MODEL_FORMAT.md`, section
 * types `f16`, `i8` and `u16`): pure kernels over typed arrays, no `node:`
 * import. Encoding happens once when a model is written; decoding once when
 * it is read (the prediction kernels stay float32 / int32).
 */

/** How a model's big arrays are stored: float32 as computed, float16, or int8 with one scale per row. */
export type Compact = "none" | "f16" | "int8";

/** The values of {@link Compact}, in the config's integer order (`compact=0|1|2`, or by name). */
export const COMPACT_VALUES: readonly Compact[] = ["none", "f16", "int8"];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The binary16 bit pattern nearest to `value` (IEEE 754 round to nearest,
 * ties to even): overflow gives infinity, values below half the smallest
 * subnormal give a signed zero, NaN gives the quiet NaN `0x7e00` (with the
 * sign).
 */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112; // the binary16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) in binary16: the value in units of 2^-24.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m = mant | 0x800000;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa steps the exponent (up to infinity): still exact.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** The value of a binary16 bit pattern, by bit manipulation (exact). */
export function f16ToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    // Zero or subnormal: mant x 2^-24, exact in float32.
    const v = mant * 2 ** -24;
    return sign ? -v : v;
  }
  u32[0] =
    exp === 31 ? sign | 0x7f800000 | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
  return f32[0];
}

let table: Float32Array | null = null;

/** Every binary16 pattern's float32 value (256 KB, built on first use). */
export function f16Table(): Float32Array {
  if (!table) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16ToF32(h);
    table = t;
  }
  return table;
}

/** `src` as binary16 bit patterns (round to nearest even). */
export function encodeF16(
  src: Float32Array,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]);
  return out;
}

/** Decodes binary16 bit patterns into `out` through the 65536-entry table. */
export function decodeF16(
  src: Uint16Array,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const t = f16Table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** An int8 encoding: `rows x cols` codes and one scale per row. */
export interface Int8Rows {
  q: Int8Array;
  scale: Float32Array;
}

/**
 * Encodes `src` (`rows x cols` row-major, `cols` dividing its length) as
 * int8 with one float32 scale per row: `scale = max|row| / 127` (rounded to
 * float32), `q = clamp(round(v / scale), -127, 127)` with halves rounded
 * away from zero; a zero row gets scale 0 and codes 0. Decoded, every value
 * is within `scale / 2` of the original.
 */
export function encodeInt8Rows(src: Float32Array, cols: number): Int8Rows {
  const rows = cols > 0 ? src.length / cols : 0;
  if (!Number.isInteger(rows)) throw new RangeError(`${src.length} values are not rows of ${cols}`);
  const q = new Int8Array(src.length);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(src[base + c]));
    const s = Math.fround(max / 127);
    scale[r] = s;
    if (s === 0) continue;
    for (let c = 0; c < cols; c++) {
      const v = src[base + c] / s;
      // Math.round rounds halves up: on |v| that is away from zero.
      const a = Math.min(Math.round(Math.abs(v)), 127);
      q[base + c] = v < 0 ? -a : a;
    }
  }
  return { q, scale };
}

/** Decodes int8 rows: `out[r * cols + c] = q[r * cols + c] * scale[r]` (cols = q.length / scale.length). */
export function decodeInt8Rows(
  q: Int8Array,
  scale: Float32Array,
  out: Float32Array = new Float32Array(q.length),
): Float32Array {
  const rows = scale.length;
  const cols = rows > 0 ? q.length / rows : 0;
  for (let r = 0; r < rows; r++) {
    const s = scale[r];
    const base = r * cols;
    for (let c = base; c < base + cols; c++) out[c] = q[c] * s;
  }
  return out;
}

/** Whether every value is in `[-1, 65534]` (storable as {@link encodeU16}). */
export function fitsU16(src: Int32Array): boolean {
  for (let i = 0; i < src.length; i++) if (src[i] < -1 || src[i] > 0xfffe) return false;
  return true;
}

/** Int32 values in `[-1, 65534]` as u16, -1 as `0xFFFF` (check {@link fitsU16} first). */
export function encodeU16(
  src: Int32Array,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = src[i] & 0xffff;
  return out;
}

/** Decodes u16 sections: `0xFFFF` is -1, every other value itself. */
export function decodeU16(
  src: Uint16Array,
  out: Int32Array = new Int32Array(src.length),
): Int32Array {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = v === 0xffff ? -1 : v;
  }
  return out;
}

/**
 * Scales each row of `data` (`rows x stride`) to unit L2 length, in place
 * (sums in float64); zero rows stay zero. Compact embeddings are
 * re-normalised on load so the cosine search sees unit rows again.
 */
export function normalizeDenseRows(data: Float32Array, stride: number): void {
  const rows = stride > 0 ? data.length / stride : 0;
  for (let r = 0; r < rows; r++) {
    const base = r * stride;
    let sq = 0;
    for (let c = base; c < base + stride; c++) sq += data[c] * data[c];
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let c = base; c < base + stride; c++) data[c] *= inv;
  }
}
