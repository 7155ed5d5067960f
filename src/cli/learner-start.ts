import { closeSync } from "node:fs";
import type { NodeEntry } from "../config/schema.ts";
import type { LearnFrom } from "../core/learner.ts";
import { openOutputFile, OutputFileError } from "../node/output.ts";
import type { NodeStatus } from "../node/status.ts";
import { UsageError } from "./errors.ts";

/** Where a `paxos node` learner starts, and what /status and the log say about it. */
export interface LearnerStart {
  readonly learnFrom: LearnFrom;
  readonly report: NonNullable<NodeStatus["learnerStart"]>;
  /** (client, seq) pairs from the file's tail given to the duplicate filter. */
  readonly remembered: number;
  /** The --output file, open for appending (null: standard output, or no --output). */
  readonly fd: number | null;
}

/**
 * Checks --output and --from-instance against the node's roles and opens the output file, before
 * any socket: a learner appending to a file it wrote before resumes after the file's last
 * instance (a torn last write is cut off, see planResume); --from-instance N starts a fresh
 * consumer at N, and is refused beside a file that already says where to resume. Bad usage is a
 * UsageError (exit 2). Null when neither flag is given.
 */
export function planLearnerStart(entry: NodeEntry, o: { readonly output?: string; readonly fromInstance?: number }): LearnerStart | null {
  if (o.output === undefined && o.fromInstance === undefined) return null;
  if (!entry.roles.includes("learner")) {
    const flag = o.output !== undefined ? "--output" : "--from-instance";
    throw new UsageError(`${flag}: node ${entry.id} has no learner role (its roles: ${entry.roles.join(", ")}); only learners deliver values`);
  }
  const fromFlag = (fd: number | null, file: string | null): LearnerStart =>
    o.fromInstance !== undefined
      ? { learnFrom: { instance: o.fromInstance }, report: { instance: o.fromInstance, source: "flag", file, cutBytes: null }, remembered: 0, fd }
      : { learnFrom: "beginning", report: { instance: 0, source: "beginning", file, cutBytes: null }, remembered: 0, fd };
  if (o.output === undefined || o.output === "-") return fromFlag(null, null);
  let opened: ReturnType<typeof openOutputFile>;
  try {
    opened = openOutputFile(o.output);
  } catch (e) {
    if (e instanceof OutputFileError) throw new UsageError(e.message);
    throw e;
  }
  const { fd, resume } = opened;
  if (resume.next === null) return fromFlag(fd, o.output);
  if (o.fromInstance !== undefined) {
    closeSync(fd);
    throw new UsageError(
      `--from-instance: ${o.output} already holds deliveries up to instance ${resume.next - 1} and the learner resumes after them; drop --from-instance, or give a new --output file`,
    );
  }
  return {
    learnFrom: { instance: resume.next, delivered: resume.delivered },
    report: { instance: resume.next, source: "output", file: o.output, cutBytes: resume.cutBytes > 0 ? resume.cutBytes : null },
    remembered: resume.delivered.length,
    fd,
  };
}
