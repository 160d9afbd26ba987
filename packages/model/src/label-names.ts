/**
 * Label names, one per label the model stores (dense label ids, in order),
 * as one UTF-8 buffer and the offsets of each name: compact (no object per
 * name until asked) and stored as two model sections.
 */
export class LabelNames {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  /** Use {@link labelNamesFromList} or {@link labelNamesFromArrays}. */
  private constructor(
    /** UTF-8 names joined without separator. */
    readonly bytes: Uint8Array,
    /** `Int32Array(count + 1)`: name `i` is `bytes[offsets[i], offsets[i + 1])`. */
    readonly offsets: Int32Array,
  ) {}

  /** Number of names. */
  get count(): number {
    return this.offsets.length - 1;
  }

  /** The name of dense label `i`. */
  name(i: number): string {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`no label ${i} (${this.count} names)`);
    return this.decoder.decode(this.bytes.subarray(this.offsets[i], this.offsets[i + 1]));
  }

  /** The arrays a model stores. */
  toArrays(): { bytes: Uint8Array; offsets: Int32Array } {
    return { bytes: this.bytes, offsets: this.offsets };
  }

  /** @internal */
  static of(bytes: Uint8Array, offsets: Int32Array): LabelNames {
    return new LabelNames(bytes, offsets);
  }
}

/**
 * Why a name cannot be stored, or null: a name is one line of text, not
 * empty, without tabs or other control characters (a result file and the
 * tools that read it are line- and tab-separated).
 */
export function labelNameProblem(name: string): string | null {
  if (name.length === 0) return "the name is empty";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f)
      return `the name holds the control character U+${c.toString(16).padStart(4, "0").toUpperCase()} at column ${i + 1}`;
  }
  return null;
}

/** Names in order (checked with {@link labelNameProblem}; a bad one is a TypeError naming its index). */
export function labelNamesFromList(names: readonly string[]): LabelNames {
  const encoder = new TextEncoder();
  const encoded = names.map((name, i) => {
    const problem = typeof name === "string" ? labelNameProblem(name) : "it is not a string";
    if (problem) throw new TypeError(`label name ${i}: ${problem}`);
    return encoder.encode(name);
  });
  const offsets = new Int32Array(names.length + 1);
  for (let i = 0; i < encoded.length; i++) offsets[i + 1] = offsets[i] + encoded[i].length;
  const bytes = new Uint8Array(offsets[names.length]);
  for (let i = 0; i < encoded.length; i++) bytes.set(encoded[i], offsets[i]);
  return LabelNames.of(bytes, offsets);
}

/**
 * Label names from a model's stored arrays, checked: `count + 1` offsets
 * from 0 to the byte length, never decreasing, valid UTF-8, every name
 * passing {@link labelNameProblem}. Throws an Error saying what is wrong.
 */
export function labelNamesFromArrays(
  arrays: { bytes: Uint8Array; offsets: Int32Array },
  count: number,
): LabelNames {
  const { bytes, offsets } = arrays;
  if (!(bytes instanceof Uint8Array) || !(offsets instanceof Int32Array))
    throw new Error("label names must be a u8 and an i32 section");
  if (offsets.length !== count + 1)
    throw new Error(`${offsets.length - 1} label names for ${count} labels`);
  if (offsets[0] !== 0 || offsets[count] !== bytes.length)
    throw new Error("label name offsets do not span the name bytes");
  for (let i = 0; i < count; i++) {
    if (offsets[i + 1] < offsets[i]) throw new Error(`label name offsets decrease at ${i}`);
  }
  const names = LabelNames.of(bytes, offsets);
  for (let i = 0; i < count; i++) {
    let name: string;
    try {
      name = names.name(i);
    } catch {
      throw new Error(`label name ${i} is not valid UTF-8`);
    }
    const problem = labelNameProblem(name);
    if (problem) throw new Error(`label name ${i}: ${problem}`);
  }
  return names;
}
