/** What `paxos experiment run` shows while it runs: a bar with the time left on a terminal, else a line per run. */
import { Presets, SingleBar } from "cli-progress";
import type { ExperimentProgress } from "./harness.ts";
import type { ProgressSink } from "../bench/progress.ts";
import { describePoint } from "./spec.ts";

export function formatDuration(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

export function experimentProgress(name: string, sink: ProgressSink): ExperimentProgress {
  if (!sink.tty) {
    return {
      run: (i, total, point, leftS) => sink.write(`experiment ${name}: run ${i + 1}/${total} (${describePoint(point)}), about ${formatDuration(leftS)} left\n`),
      stop: () => {},
    };
  }
  const bar = new SingleBar({ stream: sink.tty, format: `${name} [{bar}] {value}/{total} runs | {left} left | {point}`, barsize: 30, hideCursor: true, clearOnComplete: false, fps: 2 }, Presets.shades_classic);
  let started = false;
  let current = 0;
  return {
    run: (i, total, point, leftS) => {
      const payload = { left: formatDuration(leftS), point: describePoint(point) };
      if (!started) bar.start(total, i, payload);
      else bar.update(i, payload);
      started = true;
      current = i;
    },
    stop: () => {
      if (started) {
        bar.update(current + 1, { left: formatDuration(0), point: "" });
        bar.stop();
      }
      started = false;
    },
  };
}
