import { readFile } from "node:fs/promises";
import { type LabelNames, labelNameProblem, labelNamesFromList } from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";

/**
 * Reads a label names file (`label_names=FILE`): one name per line, line i
 * naming label id i, UTF-8 (a BOM and CRLF line ends accepted, a newline
 * after the last name optional). It must have exactly `labels` lines (the
 * training data's label ids), every one valid; only the names of the ids in
 * `used` (ascending; null = every id) are kept, so the model stores one name per
 * label it knows. A bad line (empty, a control character, invalid UTF-8) is
 * an `AnnexmlError` `BAD_INPUT` naming the file and line.
 */
export async function readLabelNamesFile(
  path: string,
  labels: number,
  used: Int32Array | null,
): Promise<LabelNames> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AnnexmlError(
      "FILE_UNREADABLE",
      `cannot read the label names (${code === "ENOENT" ? "no such file" : (error as Error).message})`,
      { file: path },
    );
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const names: string[] = [];
  let next = 0; // index into `used` of the next id to keep
  let line = 0;
  let start = 0;
  const end =
    bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  while (start <= end && bytes.length > 0) {
    let stop = bytes.indexOf(0x0a, start);
    if (stop < 0 || stop > end) stop = end;
    const id = line++;
    let to = stop;
    if (to > start && bytes[to - 1] === 0x0d) to--;
    const keep = used === null || (next < used.length && used[next] === id);
    let name: string;
    try {
      // The BOM is dropped by the decoder (first line only).
      name = decoder.decode(bytes.subarray(start, to));
    } catch {
      throw new AnnexmlError("BAD_INPUT", `label name of label ${id} is not valid UTF-8`, {
        file: path,
        line: id + 1,
      });
    }
    const problem = labelNameProblem(name);
    if (problem)
      throw new AnnexmlError("BAD_INPUT", `label name of label ${id}: ${problem}`, {
        file: path,
        line: id + 1,
      });
    if (keep) {
      names.push(name);
      next++;
    }
    start = stop + 1;
  }
  if (line !== labels) {
    throw new AnnexmlError(
      "BAD_INPUT",
      `the label names file has ${line} names but the training data has ${labels} labels (ids 0..${labels - 1}): one name per line, line i naming label id i`,
      { file: path },
    );
  }
  return labelNamesFromList(names);
}
