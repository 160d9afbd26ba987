import cliProgress from "cli-progress";

/** One long phase being reported (partitioning tasks, embedding tasks, rows...). */
export interface Phase {
  /** Marks `n` more counted units done (tasks, rows: what the line shows). */
  tick(n?: number): void;
  /**
   * Sets the work done, in the units of the phase's `work` total (never
   * decreasing; a smaller value is ignored). The fraction and the ETA come
   * from it; without a `work` total they come from the ticks.
   */
  progress(done: number): void;
  /** Ends the phase; returns its seconds. */
  done(): number;
}

/** Hears every update of a phase: its name, the fraction of work done, the seconds left (NaN = no estimate yet). */
export type ProgressListener = (phase: string, fraction: number, etaSeconds: number) => void;

/** Where progress and messages go: stderr, so stdout stays for results. */
export interface ReporterOptions {
  /** 0 = silent, 1 = progress and summary, 2 = also details. */
  verbose: number;
  stream?: NodeJS.WriteStream;
  /** Force bars on or off (default: when the stream is a TTY). */
  tty?: boolean;
  /** Seconds between plain log lines when not on a TTY (default 10). */
  logEverySeconds?: number;
  /** Called on every progress update and at the end (fraction 1, ETA 0), at any verbosity. */
  onUpdate?: ProgressListener;
  /** The clock in milliseconds (default `performance.now`; tests pass a fake one). */
  now?: () => number;
}

/** No estimate before this fraction of the work is done... */
const MIN_FRACTION = 0.02;
/** ...unless this many seconds have passed (and some work is done). */
const MIN_SECONDS = 2;

/**
 * The seconds left of a phase that has run `elapsed` seconds and done
 * `fraction` (0..1) of its work, at the rate so far:
 * `elapsed / fraction * (1 - fraction)`. NaN until there is something to
 * go on: at least 2% done, or 2 s passed with some work done.
 */
export function remainingSeconds(elapsed: number, fraction: number): number {
  if (!(fraction > 0)) return Number.NaN;
  if (fraction < MIN_FRACTION && elapsed < MIN_SECONDS) return Number.NaN;
  const f = Math.min(fraction, 1);
  return (elapsed / f) * (1 - f);
}

export const formatSeconds = (s: number) =>
  !Number.isFinite(s)
    ? "..."
    : s < 60
      ? `${s.toFixed(1)} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
        : `${(s / 3600).toFixed(1)} h`;

/**
 * Progress on stderr: bars with ETA on a TTY, periodic plain lines
 * otherwise (logs, CI), nothing with verbose 0. The ETA is
 * {@link remainingSeconds} of the fraction of work done.
 */
export class Reporter {
  readonly verbose: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly logEvery: number;
  private readonly onUpdate: ProgressListener | undefined;
  private readonly now: () => number;

  constructor(options: ReporterOptions) {
    this.verbose = options.verbose;
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.logEvery = options.logEverySeconds ?? 10;
    this.onUpdate = options.onUpdate;
    this.now = options.now ?? (() => performance.now());
  }

  /** A message of the summary level (verbose >= 1). */
  info(message: string): void {
    if (this.verbose >= 1) this.stream.write(`${message}\n`);
  }

  /** A detail (verbose >= 2). */
  detail(message: string): void {
    if (this.verbose >= 2) this.stream.write(`${message}\n`);
  }

  /**
   * Starts a phase of `total` counted units (`total` 0 means unknown: rows
   * of a stream) and, when given, `work` units of work (see
   * {@link Phase.progress}).
   */
  phase(name: string, total: number, unit: string, work?: number): Phase {
    const now = this.now;
    const start = now();
    const elapsed = () => (now() - start) / 1000;
    const listener = this.onUpdate;
    let count = 0;
    let workDone = 0;
    const fraction = () =>
      work !== undefined
        ? work > 0
          ? Math.min(workDone / work, 1)
          : 0
        : total > 0
          ? Math.min(count / total, 1)
          : 0;
    const view: View =
      this.verbose < 1
        ? { update() {}, end() {} }
        : this.tty
          ? barView(this.stream, name, total, unit)
          : lineView(this.stream, name, total, unit, this.logEvery);
    const update = () => {
      const s = elapsed();
      const f = fraction();
      const eta = remainingSeconds(s, f);
      listener?.(name, f, eta);
      view.update(s, f, count, eta);
    };
    return {
      tick(n = 1) {
        count += n;
        update();
      },
      progress(done) {
        if (!(done > workDone)) return;
        workDone = done;
        update();
      },
      done() {
        const s = elapsed();
        listener?.(name, 1, 0);
        view.end(s, count);
        return s;
      },
    };
  }
}

/** How a phase is shown. */
interface View {
  update(elapsed: number, fraction: number, count: number, eta: number): void;
  end(elapsed: number, count: number): void;
}

function barView(stream: NodeJS.WriteStream, name: string, total: number, unit: string): View {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${name.padEnd(12)} [{bar}] {percentage}% | {count} ${unit} | ETA {etaText} | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const counted = (count: number) => (total > 0 ? `${count}/${total}` : `${count}`);
  // The bar runs over permille of the work, so its own (task-rate) ETA is never used.
  bar.start(1000, 0, { count: counted(0), etaText: formatSeconds(Number.NaN) });
  return {
    update(_elapsed, fraction, count, eta) {
      bar.update(Math.round(1000 * fraction), {
        count: counted(count),
        etaText: formatSeconds(eta),
      });
    },
    end(_elapsed, count) {
      bar.update(1000, { count: counted(count), etaText: formatSeconds(0) });
      bar.stop();
    },
  };
}

function lineView(
  stream: NodeJS.WriteStream,
  name: string,
  total: number,
  unit: string,
  every: number,
): View {
  let lastLog = 0;
  return {
    update(s, fraction, count, eta) {
      if (s - lastLog < every) return;
      lastLog = s;
      const counted = total > 0 ? `${count}/${total} ${unit}` : `${count} ${unit}`;
      const share = total > 0 || fraction > 0 ? ` (${(100 * fraction).toFixed(0)}%)` : "";
      stream.write(
        `${name}: ${counted}${share}, ${formatSeconds(s)} elapsed${Number.isFinite(eta) ? `, ETA ${formatSeconds(eta)}` : ""}\n`,
      );
    },
    end(s, count) {
      stream.write(`${name}: done, ${count} ${unit} in ${formatSeconds(s)}\n`);
    },
  };
}
