import cliProgress from "cli-progress";

/** One long phase being reported (partitioning tasks, embedding tasks, rows...). */
export interface Phase {
  /** Marks `n` more units done. */
  tick(n?: number): void;
  /** Ends the phase; returns its seconds. */
  done(): number;
}

/** Where progress and messages go: stderr, so stdout stays for results. */
export interface ReporterOptions {
  /** 0 = silent, 1 = progress and summary, 2 = also details. */
  verbose: number;
  stream?: NodeJS.WriteStream;
  /** Force bars on or off (default: when the stream is a TTY). */
  tty?: boolean;
  /** Seconds between plain log lines when not on a TTY (default 10). */
  logEverySeconds?: number;
}

const formatSeconds = (s: number) =>
  s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;

/**
 * Progress on stderr: bars with ETA on a TTY, periodic plain lines
 * otherwise (logs, CI), nothing with verbose 0.
 */
export class Reporter {
  readonly verbose: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly logEvery: number;

  constructor(options: ReporterOptions) {
    this.verbose = options.verbose;
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.logEvery = options.logEverySeconds ?? 10;
  }

  /** A message of the summary level (verbose >= 1). */
  info(message: string): void {
    if (this.verbose >= 1) this.stream.write(`${message}\n`);
  }

  /** A detail (verbose >= 2). */
  detail(message: string): void {
    if (this.verbose >= 2) this.stream.write(`${message}\n`);
  }

  /** Starts a phase of `total` units; `total` 0 means unknown (rows of a stream). */
  phase(name: string, total: number, unit: string): Phase {
    const start = performance.now();
    const elapsed = () => (performance.now() - start) / 1000;
    if (this.verbose < 1) {
      return { tick() {}, done: elapsed };
    }
    if (this.tty) {
      const bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${name.padEnd(12)} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted} | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 20,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(total, 1), 0);
      let value = 0;
      return {
        tick(n = 1) {
          value += n;
          if (total === 0) bar.setTotal(value);
          bar.update(value);
        },
        done() {
          if (total === 0) bar.setTotal(Math.max(value, 1));
          bar.update(Math.max(value, total === 0 ? 1 : total));
          bar.stop();
          return elapsed();
        },
      };
    }
    let value = 0;
    let lastLog = 0;
    const stream = this.stream;
    const every = this.logEvery;
    const line = () => {
      const s = elapsed();
      if (total > 0) {
        const eta = value > 0 ? (s / value) * (total - value) : Number.NaN;
        return `${name}: ${value}/${total} ${unit} (${((100 * value) / total).toFixed(0)}%), ${formatSeconds(s)} elapsed${Number.isFinite(eta) ? `, ETA ${formatSeconds(eta)}` : ""}`;
      }
      return `${name}: ${value} ${unit}, ${formatSeconds(s)} elapsed`;
    };
    return {
      tick(n = 1) {
        value += n;
        const s = elapsed();
        if (s - lastLog >= every) {
          lastLog = s;
          stream.write(`${line()}\n`);
        }
      },
      done() {
        const s = elapsed();
        stream.write(`${name}: done, ${value} ${unit} in ${formatSeconds(s)}\n`);
        return s;
      },
    };
  }
}
