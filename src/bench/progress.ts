/** What `paxos bench` shows while it runs: a progress bar on a terminal, else a plain line per update. */
import { Presets, SingleBar } from "cli-progress";

export interface BenchProgress {
  /** Seconds since the clients started, and the measured learner's delivered values/s. */
  update(elapsedS: number, valuesPerSec: number): void;
  /** Ends the bar (idempotent); call before printing anything else. */
  stop(): void;
}

export interface ProgressSink {
  /** A terminal (process.stderr when it is a TTY): draw a bar on it. Absent: plain lines through `write`. */
  readonly tty?: NodeJS.WritableStream;
  readonly write: (s: string) => void;
}

export function benchProgress(durationS: number, sink: ProgressSink): BenchProgress {
  const vps = (v: number) => Math.round(v).toLocaleString("en-US");
  if (!sink.tty) {
    return {
      update: (t, v) => sink.write(`bench: ${t.toFixed(0)}/${durationS} s, learner ${vps(v)} values/s\n`),
      stop: () => {},
    };
  }
  const bar = new SingleBar(
    {
      stream: sink.tty,
      format: "bench [{bar}] {value}/{total} s | learner {vps} values/s",
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    Presets.shades_classic,
  );
  // Drawn from the first update on: nothing shows if the run fails before its clients start.
  let state: "new" | "drawn" | "stopped" = "new";
  return {
    update: (t, v) => {
      const value = Math.min(durationS, Math.floor(t));
      if (state === "new") bar.start(durationS, value, { vps: vps(v) });
      else if (state === "drawn") bar.update(value, { vps: vps(v) });
      if (state === "new") state = "drawn";
    },
    stop: () => {
      if (state === "drawn") bar.stop();
      state = "stopped";
    },
  };
}
