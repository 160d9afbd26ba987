import { AnnexmlError } from "@annexml/sparse-io";

/** A usage error: bad arguments or options. Exit code 2, like commander's own. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Turns any error into the one line a CLI user sees and an exit code:
 * 1 for data and file problems, 2 for usage errors, 70 for bugs (with the
 * stack only when ANNEXML_DEBUG is set).
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof AnnexmlError) return { message: error.message, exitCode: 1 };
  if (error instanceof UsageError || error instanceof RangeError || error instanceof TypeError) {
    return { message: (error as Error).message, exitCode: 2 };
  }
  const e = error as Error;
  const stack = process.env.ANNEXML_DEBUG
    ? `\n${e?.stack ?? ""}`
    : " (set ANNEXML_DEBUG=1 for the stack trace)";
  return { message: `internal error: ${e?.message ?? String(error)}${stack}`, exitCode: 70 };
}
