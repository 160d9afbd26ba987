import { readFile } from "node:fs/promises";
import { type AnnexmlParams, applyObject, applyOverrides, defaultParams } from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";

// The parameter table is the model package's (a model stores and checks its
// parameters); the CLI adds reading a config file.
export {
  type AnnexmlParams,
  applyObject,
  applyOverrides,
  checkNumber,
  defaultParams,
  PARAM_NAMES,
  PARAMS,
  type ParamSpec,
  paramsHelp,
  requireFiles,
} from "@annexml/model";

/** Reads CONFIG.json and applies the `key=value` overrides. */
export async function loadParams(
  configFile: string,
  overrides: readonly string[],
): Promise<AnnexmlParams> {
  let text: string;
  try {
    text = await readFile(configFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AnnexmlError(
      "FILE_UNREADABLE",
      `cannot read config file (${code === "ENOENT" ? "no such file" : (error as Error).message})`,
      { file: configFile },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AnnexmlError("BAD_FORMAT", `config is not valid JSON (${(error as Error).message})`, {
      file: configFile,
    });
  }
  return applyOverrides(applyObject(defaultParams(), json, configFile), overrides);
}
