/**
 * The experiments `paxos experiment` knows, each a description (spec.ts) run by the one harness.
 * Most are `paxos bench` clusters (bench-point.ts), one is the runtime's limits, one the failure
 * trace (bench/failure-run.ts), one seed 001's key-value matrix (bench/kv-seed001.ts); the other
 * key-value studies and Multi-Ring's capped links (namespaces) and rate steps still run as their
 * own scripts under bench/ (README, Results).
 */
import type { Experiment } from "../spec.ts";
import { cappedEfficiency } from "./efficiency.ts";
import { cpuPerRole, flowControl, oneToMany, ringSize, ringValueSize, socketBuffers, windowSweep } from "./ring.ts";
import { authCost } from "./auth.ts";
import { failureTrace } from "./failure.ts";
import { heterogeneousAcceptors } from "./heterogeneous.ts";
import { kvSeed001 } from "./kv.ts";
import { leaders } from "./leaders.ts";
import { multiringDelta, multiringM, multiringRings } from "./multiring.ts";
import { flexibleQuorums } from "./quorums.ts";
import { proposers, workloadA, workloadB, workloadC, workloadD } from "./workloads.ts";

export const EXPERIMENTS: readonly Experiment[] = [ringValueSize, ringSize, windowSweep, cpuPerRole, socketBuffers, cappedEfficiency, flowControl, oneToMany, workloadA, workloadB, workloadC, workloadD, proposers, leaders, failureTrace, multiringRings, multiringDelta, multiringM, kvSeed001, heterogeneousAcceptors, flexibleQuorums, authCost];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
