import { AnnexmlError } from "@annexml/sparse-io";

/** A usage error: bad arguments or options. Exit code 2, like commander's own. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Turns any error into the one line a CLI user sees and an exit code:
 * 2 for usage errors (a {@link UsageError}, an `AnnexmlError` with code
 * `BAD_OPTION`: a bad parameter, option or argument), 1 for the other
 * `AnnexmlError`s (data and file problems), 70 for anything else, which is
 * a bug: a stray `TypeError` or `RangeError` included (the stack is printed
 * only when ANNEXML_DEBUG is set). Commander's own usage errors exit 2 in
 * `main`.
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof AnnexmlError) {
    return { message: error.message, exitCode: error.code === "BAD_OPTION" ? 2 : 1 };
  }
  if (error instanceof UsageError) return { message: error.message, exitCode: 2 };
  const e = error as Error;
  const stack = process.env.ANNEXML_DEBUG
    ? `\n${e?.stack ?? ""}`
    : " (set ANNEXML_DEBUG=1 for the stack trace)";
  return { message: `internal error: ${e?.message ?? String(error)}${stack}`, exitCode: 70 };
}
