import { AtomicFileWriter } from "@annexml/sparse-io";

/** The signals that interrupt a command; the shell reports 128 + the number (130, 143, 129). */
export const INTERRUPT_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

export type InterruptSignal = keyof typeof INTERRUPT_SIGNALS;

/**
 * Removes the temporary files of every open writer, synchronously; the
 * targets (previous models and results) stay as they were. Returns how
 * many were removed.
 */
export function cleanUpSync(): number {
  return AtomicFileWriter.abortAllSync();
}

/**
 * Makes SIGINT, SIGTERM and SIGHUP leave no temporary file behind (the
 * `annexml` binary only; library code installs no handler).
 *
 * The handlers are installed only while a temporary file exists (a model or
 * result being written): a handler runs on the event loop, so with one
 * installed a `num_thread=1` run computing on the main thread could not be
 * interrupted until its current task ends. Without temporary files a
 * signal ends the process at once (its worker threads with it).
 *
 * With a temporary file, the handler removes it (see {@link cleanUpSync}),
 * prints one line, restores the default action and raises the signal
 * again, so the process ends by the signal either way: a shell reports 130
 * for SIGINT and 143 for SIGTERM, a Node parent sees `signal`. A second
 * signal during the clean-up ends the process at once.
 */
export function installSignalHandlers(): void {
  const handlers = new Map<InterruptSignal, () => void>();
  const remove = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  const handle = (signal: InterruptSignal) => {
    remove(); // a second signal takes the default action: immediate exit
    const removed = cleanUpSync();
    try {
      const files = removed === 1 ? "file" : "files";
      process.stderr.write(
        `annexml: interrupted (${signal})${removed ? `, removed ${removed} temporary ${files}` : ""}\n`,
      );
    } catch {
      // stderr may be gone (SIGHUP of a closed terminal).
    }
    process.kill(process.pid, signal);
    // Not reached when the signal's default action ends the process.
    process.exit(128 + INTERRUPT_SIGNALS[signal]);
  };
  AtomicFileWriter.onLiveChange((count) => {
    if (count === 0) return remove();
    if (handlers.size > 0) return;
    for (const signal of Object.keys(INTERRUPT_SIGNALS) as InterruptSignal[]) {
      const handler = () => handle(signal);
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
  });
}
