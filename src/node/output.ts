import { Buffer } from "node:buffer";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Delivery } from "../core/types.ts";

/**
 * Streams what a learner delivers: one JSON line per value,
 * {"instance":…,"client":…,"seq":…,"value":"<base64>"}, in delivery order, so shell scripts and
 * applications can consume the ordered log.
 */
export class DeliveryWriter {
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  lines = 0;

  /** `target`: a file path (appended to), or "-" for standard output. */
  constructor(target: string, stdout: NodeJS.WritableStream = process.stdout) {
    if (target === "-") {
      this.stream = stdout;
      this.ownsStream = false;
    } else {
      this.stream = createWriteStream(target, { flags: "a" });
      this.ownsStream = true;
    }
  }

  write(d: Delivery): void {
    if (d.values.length === 0) return;
    let chunk = "";
    for (const v of d.values)
      chunk += `${JSON.stringify({ instance: d.instance, client: v.client, seq: v.seq, value: Buffer.from(v.payload.buffer, v.payload.byteOffset, v.payload.byteLength).toString("base64") })}\n`;
    this.lines += d.values.length;
    this.stream.write(chunk);
  }

  /** Flushes and, for a file, closes it. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.ownsStream) {
        // Standard output: wait until what was written so far is handed to the OS.
        if (this.stream.write("")) resolve();
        else this.stream.once("drain", () => resolve());
        return;
      }
      (this.stream as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }
}
