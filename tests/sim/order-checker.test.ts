import { describe, expect, test } from "bun:test";
import { acyclicOrderViolations } from "../../src/sim/multiring/order-checker.ts";

describe("acyclic order checker", () => {
  test("learners with different subscriptions agree on their common values: no violation", () => {
    const seqs = new Map([
      [1, [10, 20, 11, 21, 12]], // rings 1 and 2
      [2, [10, 11, 12, 13]], // ring 1 only
      [3, [20, 21]], // ring 2 only, behind
    ]);
    expect(acyclicOrderViolations(seqs)).toEqual([]);
  });

  test("two learners that order two common values differently are caught (a planted failure)", () => {
    const seqs = new Map([
      [1, [10, 20, 11]],
      [2, [20, 10, 11]],
    ]);
    expect(acyclicOrderViolations(seqs)).toEqual([
      "the learners' delivery orders form a cycle: 10 before 20 before 10",
      "learners 1 and 2 deliver their common values in different orders: #0 is 10 at 1, 20 at 2",
    ]);
  });

  test("a cycle across three learners, each pair agreeing on what it shares, is caught", () => {
    const seqs = new Map([
      [1, [10, 20]],
      [2, [20, 30]],
      [3, [30, 10]],
    ]);
    // Pairwise: 1-2 share 20 only, 2-3 share 30 only, 1-3 share 10 only: no pair disagrees, yet
    // the orders form a cycle, which the global check finds.
    expect(acyclicOrderViolations(seqs)).toEqual(["the learners' delivery orders form a cycle: 10 before 20 before 30 before 10"]);
  });
});
