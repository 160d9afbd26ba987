/**
 * Correctly rounded `log` and `pow`, so that the metric constants match the
 * reference scripts bit for bit.
 *
 * Why not `Math.log` / `Math.pow`: the scripts run on CPython, which calls
 * the C library (glibc: results within a hair of correct rounding), whereas
 * V8's fdlibm-derived versions are off by one unit in the last place for
 * `log(3)` (so for the DCG weight of rank 2) and for about one in ten of the
 * propensity powers. Here every result is computed in double-double
 * arithmetic (about 100 significant bits) and rounded once, which agrees
 * with glibc everywhere we have compared (see `libm.test.ts`).
 *
 * These run once per rank and once per distinct label frequency, never in a
 * per-row loop, so clarity wins over speed (pairs are small arrays).
 */

/** A double-double `hi + lo` with `|lo| <= ulp(hi) / 2`. */
type DD = readonly [number, number];

/** 2^27 + 1: Veltkamp's constant that splits a double into two 26-bit halves. */
const SPLITTER = 134217729;

/** ln 2 as a double-double. */
const LN2: DD = [Math.LN2, 2.3190468138462996e-17];

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const v = s - a;
  return [s, a - (s - v) + (b - v)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function add(a: DD, b: DD): DD {
  const [s, e0] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [s1, e1] = quickTwoSum(s, e0 + t);
  return quickTwoSum(s1, e1 + f);
}

function mul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function mulNumber(a: DD, b: number): DD {
  const [p, e] = twoProd(a[0], b);
  return quickTwoSum(p, e + a[1] * b);
}

function div(a: DD, b: DD): DD {
  // Long division with three double quotient digits.
  const q1 = a[0] / b[0];
  let r = add(a, mulNumber(b, -q1));
  const q2 = r[0] / b[0];
  r = add(r, mulNumber(b, -q2));
  const q3 = r[0] / b[0];
  return add(quickTwoSum(q1, q2), [q3, 0]);
}

/** 1 / (2n + 1) for the atanh series of the logarithm. */
const LOG_TERMS = 24;
const INV_ODD: DD[] = Array.from({ length: LOG_TERMS + 1 }, (_, n) => div([1, 0], [2 * n + 1, 0]));

/** 1 / n! for the exponential series. */
const EXP_TERMS = 12;
const INV_FACTORIAL: DD[] = [[1, 0]];
for (let n = 1; n <= EXP_TERMS; n++) INV_FACTORIAL.push(div(INV_FACTORIAL[n - 1], [n, 0]));
/** exp(r) is evaluated at r / 2^EXP_HALVINGS and squared back. */
const EXP_HALVINGS = 10;

/** ln x as a double-double, for finite x > 0. */
function logDD(x: number): DD {
  let exponent = 0;
  let m = x;
  if (m < 2 ** -1022) {
    m *= 2 ** 54;
    exponent -= 54;
  }
  // m = x / 2^e exactly, then moved into [sqrt(1/2), sqrt(2)] so the series converges fast.
  // log2 may round up to 1024 for the largest doubles, and 2^1024 overflows.
  let e = Math.min(1023, Math.floor(Math.log2(m)));
  m /= 2 ** e;
  while (m >= 2) {
    m /= 2;
    e++;
  }
  while (m < 1) {
    m *= 2;
    e--;
  }
  if (m > Math.SQRT2) {
    m /= 2;
    e++;
  }
  exponent += e;
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.172.
  // m - 1 is exact (Sterbenz); 24 terms reach far below 2^-106.
  const s = div([m - 1, 0], twoSum(m, 1));
  const s2 = mul(s, s);
  let sum = INV_ODD[LOG_TERMS];
  for (let n = LOG_TERMS - 1; n >= 0; n--) sum = add(mul(sum, s2), INV_ODD[n]);
  const lnM = mulNumber(mul(s, sum), 2);
  return exponent === 0 ? lnM : add(mulNumber(LN2, exponent), lnM);
}

/** e^z for a double-double z with |z| <= 700 (no overflow or subnormal result). */
function expDD(z: DD): number {
  // z = k ln 2 + r, |r| <= ln 2 / 2; exp(r) = exp(r / 2^10)^(2^10).
  const k = Math.round(z[0] / LN2[0]);
  let r = add(z, mulNumber(LN2, -k));
  const scale = 2 ** -EXP_HALVINGS;
  r = [r[0] * scale, r[1] * scale];
  // expm1(r) = r (1 + r/2! ... ) by Horner; keeping e = exp - 1 avoids cancellation.
  let e = INV_FACTORIAL[EXP_TERMS];
  for (let n = EXP_TERMS - 1; n >= 1; n--) e = add(mul(e, r), INV_FACTORIAL[n]);
  e = mul(e, r);
  // (1 + e)^2 = 1 + (2e + e^2).
  for (let i = 0; i < EXP_HALVINGS; i++) e = add(mulNumber(e, 2), mul(e, e));
  const result = add([1, 0], e);
  // One rounding of hi + lo, then an exact scaling (k is within the normal range here).
  const rounded = result[0] + result[1];
  return k > 1000 ? rounded * 2 ** 1000 * 2 ** (k - 1000) : rounded * 2 ** k;
}

/**
 * The natural logarithm, correctly rounded (the double nearest to ln x)
 * for every finite x > 0. Other inputs follow `Math.log` (0 → -Infinity,
 * negative → NaN, Infinity → Infinity).
 */
export function log(x: number): number {
  if (!(x > 0) || x === Number.POSITIVE_INFINITY) return Math.log(x);
  if (x === 1) return 0;
  const [hi, lo] = logDD(x);
  return hi + lo;
}

/**
 * `x^y`, correctly rounded for finite x > 0 and finite y whenever the result
 * is a normal double no larger than e^700; exact results (`pow(4, 0.5)`) come
 * out exact. Everything else (x <= 0, non-finite input, results near the
 * ends of the double range) falls back to `Math.pow`.
 */
export function pow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (y === 1) return x;
  if (!(x > 0) || !Number.isFinite(x) || !Number.isFinite(y)) return x ** y;
  const t = mulNumber(logDD(x), y);
  if (!(Math.abs(t[0]) <= 700)) return x ** y;
  return expDD(t);
}
