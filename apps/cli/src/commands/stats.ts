import { stat } from "node:fs/promises";
import {
  columnCounts,
  compactColumns,
  type Dataset,
  readDataset,
  usedColumns,
} from "@annexml/sparse-io";

/** What `annexml stats` reports about a dataset file. */
export interface DatasetStats {
  file: string;
  header: { rows: number; features: number; labels: number } | null;
  rows: number;
  features: number;
  labels: number;
  nnz: number;
  labelEntries: number;
  meanLabelsPerRow: number;
  meanFeaturesPerRow: number;
  maxLabelsPerRow: number;
  maxFeaturesPerRow: number;
  rowsWithoutLabels: number;
  rowsWithoutFeatures: number;
  distinctLabelsUsed: number;
  distinctFeaturesUsed: number;
  /** Rows per label over the labels that occur: min, quartiles, 90th and 99th percentiles, max. */
  labelFrequency: {
    min: number;
    p25: number;
    median: number;
    p75: number;
    p90: number;
    p99: number;
    max: number;
  };
  maxFeatureId: number;
  maxLabelId: number;
  duplicateLabelsMerged: number;
  readSeconds: number;
  megabytesPerSecond: number;
}

/** Reads a dataset file and summarises it. */
export async function computeStats(file: string): Promise<DatasetStats> {
  const t0 = performance.now();
  const data = await readDataset(file);
  const readSeconds = (performance.now() - t0) / 1000;
  const bytes = file === "-" ? 0 : (await stat(file)).size;
  return summarise(file, data, readSeconds, bytes);
}

function summarise(file: string, data: Dataset, readSeconds: number, bytes: number): DatasetStats {
  const { features, labels } = data;
  let maxLabels = 0;
  let maxFeatures = 0;
  let noLabels = 0;
  let noFeatures = 0;
  for (let r = 0; r < features.rows; r++) {
    const nl = labels.indptr[r + 1] - labels.indptr[r];
    const nf = features.indptr[r + 1] - features.indptr[r];
    if (nl > maxLabels) maxLabels = nl;
    if (nf > maxFeatures) maxFeatures = nf;
    if (nl === 0) noLabels++;
    if (nf === 0) noFeatures++;
  }
  // Counted over the labels in use (dense ids): ids near 2^31 cost nothing.
  const used = columnCounts(compactColumns(labels).matrix)
    .filter((c) => c > 0)
    .sort();
  const quantile = (q: number) =>
    used.length === 0 ? 0 : used[Math.min(used.length - 1, Math.floor(q * used.length))];
  const rows = features.rows;
  return {
    file,
    header: data.header,
    rows,
    features: features.cols,
    labels: labels.cols,
    nnz: features.indices.length,
    labelEntries: labels.indices.length,
    meanLabelsPerRow: rows ? labels.indices.length / rows : 0,
    meanFeaturesPerRow: rows ? features.indices.length / rows : 0,
    maxLabelsPerRow: maxLabels,
    maxFeaturesPerRow: maxFeatures,
    rowsWithoutLabels: noLabels,
    rowsWithoutFeatures: noFeatures,
    distinctLabelsUsed: used.length,
    distinctFeaturesUsed: usedColumns(features).length,
    labelFrequency: {
      min: used.length ? used[0] : 0,
      p25: quantile(0.25),
      median: quantile(0.5),
      p75: quantile(0.75),
      p90: quantile(0.9),
      p99: quantile(0.99),
      max: used.length ? used[used.length - 1] : 0,
    },
    maxFeatureId: data.maxFeatureId,
    maxLabelId: data.maxLabelId,
    duplicateLabelsMerged: data.warnings.duplicateLabels,
    readSeconds,
    megabytesPerSecond: bytes && readSeconds > 0 ? bytes / 1e6 / readSeconds : 0,
  };
}

/** The human-readable report, one `key: value` line each. */
export function formatStats(s: DatasetStats): string {
  const f = s.labelFrequency;
  const lines = [
    `file: ${s.file}`,
    `header: ${s.header ? `${s.header.rows} ${s.header.features} ${s.header.labels}` : "none"}`,
    `rows: ${s.rows}`,
    `features: ${s.features} (max id ${s.maxFeatureId}, ${s.distinctFeaturesUsed} used)`,
    `labels: ${s.labels} (max id ${s.maxLabelId}, ${s.distinctLabelsUsed} used)`,
    `feature non-zeros: ${s.nnz}`,
    `label entries: ${s.labelEntries}`,
    `labels per row: mean ${s.meanLabelsPerRow.toFixed(3)}, max ${s.maxLabelsPerRow}`,
    `features per row: mean ${s.meanFeaturesPerRow.toFixed(2)}, max ${s.maxFeaturesPerRow}`,
    `rows without labels: ${s.rowsWithoutLabels}`,
    `rows without features: ${s.rowsWithoutFeatures}`,
    `rows per label: min ${f.min}, 25% ${f.p25}, median ${f.median}, 75% ${f.p75}, 90% ${f.p90}, 99% ${f.p99}, max ${f.max}`,
  ];
  if (s.duplicateLabelsMerged) lines.push(`duplicate labels merged: ${s.duplicateLabelsMerged}`);
  lines.push(
    `read: ${s.readSeconds.toFixed(3)} s${s.megabytesPerSecond ? `, ${s.megabytesPerSecond.toFixed(1)} MB/s` : ""}`,
  );
  return lines.join("\n");
}
