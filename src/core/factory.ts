import type { ProtocolConfig } from "./config.ts";
import { MRingProcess } from "./mring.ts";
import type { ProcessOptions, RingProcess } from "./process.ts";
import { URingProcess } from "./uring.ts";
import type { NodeId } from "./types.ts";

export function createProcess(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}): RingProcess {
  return cfg.variant === "mring" ? new MRingProcess(id, cfg, opts) : new URingProcess(id, cfg, opts);
}
