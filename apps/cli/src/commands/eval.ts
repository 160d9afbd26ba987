import {
  evaluate,
  evaluatePropensityScored,
  formatMetrics,
  inversePropensities,
  metricsToJSON,
} from "@annexml/eval";
import { readDataset, readResultFile } from "@annexml/sparse-io";

/** Options of `annexml eval`. */
export interface EvalCommandOptions {
  train?: string;
  A: number;
  B: number;
  k: number;
  json?: boolean;
}

/**
 * Evaluates a result file: the lines of the original evaluation script
 * (`#samples=`, `P@k=`, `nDCG@k=`), then, with a train file for the
 * propensities, those of its propensity-scored script (`PSP@k=`,
 * `PSnDCG@k=`). Returns the text to print.
 */
export async function runEval(resultFile: string, options: EvalCommandOptions): Promise<string> {
  const [result, train] = await Promise.all([
    readResultFile(resultFile),
    options.train ? readDataset(options.train, { checkHeader: false }) : Promise.resolve(null),
  ]);
  const ranking = evaluate(result.truth, result.predictions, { k: options.k });
  const scored = train
    ? evaluatePropensityScored(
        result.truth,
        result.predictions,
        inversePropensities(train.labels, { A: options.A, B: options.B }),
        { k: options.k },
      )
    : null;
  if (options.json) {
    return JSON.stringify({
      file: resultFile,
      ...metricsToJSON(ranking),
      ...(scored ? { ...metricsToJSON(scored), A: options.A, B: options.B } : {}),
    });
  }
  let text = formatMetrics(ranking);
  // The propensity-scored block repeats `#samples=`; print it once.
  if (scored) text += formatMetrics(scored).split("\n").slice(1).join("\n");
  return text.trimEnd();
}
