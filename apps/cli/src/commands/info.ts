import type { AnnexmlModel } from "@annexml/model";
import { readModelFile } from "../model/files.js";

/** `annexml info MODEL`: what a model holds. Returns the text (or JSON) to print. */
export async function runInfo(modelFile: string, json: boolean): Promise<string> {
  const { model, fileBytes, sections, storage } = await readModelFile(modelFile);
  const info = model.info;
  const partSizes = info.stats.partitionSizes.flat();
  const summary = {
    file: modelFile,
    bytes: fileBytes,
    sections,
    compact: model.compact,
    storage,
    origin: info.origin,
    versions: info.versions,
    params: info.params,
    data: info.data,
    learners: model.numLearners,
    shard: info.shard ?? null,
    partitionsPerLearner: info.stats.partitions,
    partitionSizes: {
      min: Math.min(...partSizes),
      max: Math.max(...partSizes),
      count: partSizes.length,
    },
    labelNames: model.labelNames
      ? {
          count: model.labelNames.count,
          first: Array.from({ length: Math.min(5, model.labelNames.count) }, (_, i) => ({
            label: model.ids.labels ? model.ids.labels[i] : i,
            name: model.labelNames?.name(i),
          })),
        }
      : null,
    trainPrecision: info.stats.trainPrecision,
    notes: info.notes ?? [],
  };
  if (json) return JSON.stringify(summary);
  const lines = [
    `model: ${modelFile} (${(fileBytes / 1e6).toFixed(2)} MB, ${summary.sections} sections)`,
    `storage: ${model.compact === "none" ? "float32" : model.compact} (sections by type: ${Object.entries(
      storage,
    )
      .map(([type, n]) => `${type} ${n}`)
      .join(", ")})`,
    `origin: ${info.origin === "annexml-cpp" ? "imported from the original C++ AnnexML" : "trained by annexml (TypeScript)"}`,
    `written by: ${Object.entries(info.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `training data: ${info.data.file || "(in memory)"}: ${info.data.rows} rows, ${idRange(info.data.features, info.data.usedFeatures)} features, ${idRange(info.data.labels, info.data.usedLabels)} labels, ${info.origin === "annexml-cpp" ? "non-zeros not recorded by the original" : `${info.data.nnz} non-zeros`}`,
    `learners: ${model.numLearners}${info.shard ? ` (a shard: learners ${info.shard.learners.join(",")} of ${info.params.num_learner}; annexml merge joins shards)` : ""}, partitions per learner: ${[...new Set(info.stats.partitions)].join("/")}` +
      `, rows per partition: ${summary.partitionSizes.min}..${summary.partitionSizes.max}`,
    `label names: ${
      model.labelNames
        ? `${model.labelNames.count} (${firstNames(model)})`
        : "none (train with label_names=FILE to store them)"
    }`,
    "parameters:",
    ...Object.entries(info.params).map(([k, v]) => `  ${k} = ${v}`),
  ];
  if (info.stats.trainPrecision) {
    lines.push("training P@1..5 per learner:");
    info.stats.trainPrecision.forEach((p, i) => {
      const l = info.shard ? info.shard.learners[i] : i;
      lines.push(`  ${l}: ${p.map((v) => v.toFixed(4)).join(" ")}`);
    });
  }
  for (const note of summary.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

/** The first few labels as `id "name"`. */
function firstNames(model: AnnexmlModel): string {
  const names = model.labelNames;
  if (!names) return "";
  const shown = Math.min(3, names.count);
  const list = Array.from({ length: shown }, (_, i) => {
    const id = model.ids.labels ? model.ids.labels[i] : i;
    return `${id} ${JSON.stringify(names.name(i))}`;
  });
  return `${list.join(", ")}${names.count > shown ? ", ..." : ""}`;
}

/** "1836", or "12 used (ids up to 2147483646)" for sparse ids. */
function idRange(range: number, used: number | undefined): string {
  return used === undefined || used === range
    ? String(range)
    : `${used} used (ids up to ${range - 1})`;
}
