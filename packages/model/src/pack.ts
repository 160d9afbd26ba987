import type { SectionArray } from "./format.js";

/**
 * A plain object of typed arrays and scalars, as every stage's `toArrays()`
 * returns (partitioner, embedding model, search index). Nested plain
 * objects (e.g. a `DenseMatrix`) are allowed.
 */
export type Packable = { [key: string]: PackableValue };
type PackableValue = number | string | boolean | null | SectionArray | Packable | undefined;

/** In the JSON header, a typed array is a reference to its section. */
type Skeleton = {
  [key: string]: number | string | boolean | null | { $section: string } | Skeleton;
};

function isSectionArray(value: unknown): value is SectionArray {
  return (
    value instanceof Int32Array ||
    value instanceof Float32Array ||
    value instanceof Float64Array ||
    value instanceof Uint8Array
  );
}

/**
 * Splits `object` into a JSON skeleton (scalars stay, typed arrays become
 * `{ $section: name }`) and appends the arrays to `sections` under
 * `prefix.key`. The container stores both; {@link unpack} reverses it.
 */
export function pack(
  prefix: string,
  object: Packable,
  sections: [string, SectionArray][],
): Skeleton {
  const skeleton: Skeleton = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    const name = `${prefix}.${key}`;
    if (isSectionArray(value)) {
      sections.push([name, value]);
      skeleton[key] = { $section: name };
    } else if (value !== null && typeof value === "object") {
      if (ArrayBuffer.isView(value))
        throw new TypeError(`${name}: unsupported typed array ${value.constructor.name}`);
      skeleton[key] = pack(name, value as Packable, sections);
    } else if (typeof value === "number" && !Number.isFinite(value)) {
      // JSON has no Infinity/NaN; keep them as tagged strings.
      skeleton[key] = { $number: String(value) } as unknown as Skeleton;
    } else {
      skeleton[key] = value;
    }
  }
  return skeleton;
}

/** Rebuilds an object packed by {@link pack}; a missing section is an error naming it. */
export function unpack<T>(skeleton: unknown, sections: ReadonlyMap<string, SectionArray>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(skeleton as Skeleton)) {
    if (value !== null && typeof value === "object") {
      if ("$section" in value) {
        const array = sections.get(value.$section as string);
        if (!array) throw new Error(`model section '${value.$section}' is missing`);
        out[key] = array;
      } else if ("$number" in value) {
        out[key] = Number((value as { $number: string }).$number);
      } else {
        out[key] = unpack(value, sections);
      }
    } else {
      out[key] = value;
    }
  }
  return out as T;
}
