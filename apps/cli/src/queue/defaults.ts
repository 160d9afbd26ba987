/** Defaults of the `annexml worker` options (here, not in worker.ts: the command line reads them without loading BullMQ). */
export const DEFAULT_WORKER_OPTIONS = { threads: 1, lockMs: 30_000 } as const;
