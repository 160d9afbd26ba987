// Test helpers (not exported by the package): run the built `annexml` binary.
import { spawn } from "node:child_process";
import { join } from "node:path";

/** The repository root. */
export const ROOT = new URL("../../../", import.meta.url).pathname;
export const BIN = join(ROOT, "apps/cli/dist/bin.js");
/** The example config; it names its files relative to the repository root. */
export const CONFIG = join(ROOT, "annexml-example.json");

/**
 * Runs the built `annexml` with `args` from the repository root (as users
 * run the example config), feeding `input` to stdin; resolves with stdout,
 * stderr and the exit code.
 */
export function runCli(args: string[], input?: string) {
  return new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ stdout, stderr, code: code ?? -1 }));
    // A command that exits without reading stdin (`info` now starts in
    // ~0.1 s) closes the pipe before our write lands: EPIPE is not a failure,
    // the test checks what the command printed and its exit code.
    child.stdin.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
    child.stdin.end(input ?? "");
  });
}
