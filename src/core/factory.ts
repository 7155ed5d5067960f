import type { ProtocolConfig } from "./config.ts";
import { mringProcess } from "./mring.ts";
import type { ProcessOptions, RingProcess } from "./process.ts";
import { uringProcess } from "./uring.ts";
import type { NodeId } from "./types.ts";

export function createProcess(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}): RingProcess {
  return cfg.variant === "mring" ? mringProcess(id, cfg, opts) : uringProcess(id, cfg, opts);
}
