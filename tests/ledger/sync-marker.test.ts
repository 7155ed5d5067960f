/**
 * Sync markers (format 2): every write ends with one, so recovery tells bit rot of an
 * acknowledged record (corruption: refused, naming the file and offset) from a torn last write
 * (cut off, with a warning giving its size), and logs without markers (format 1) still recover.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.ts";
import type { LedgerRecord } from "../../src/core/types.ts";
import { openLedger } from "../../src/ledger/open.ts";
import { checksum, encodeRecord, type WalRecord } from "../../src/ledger/record.ts";
import { CorruptionError, scanSegment, segmentHeader, segmentName } from "../../src/ledger/segment.ts";
import { appendAll, appendEach, cleanup, open, tempDir, vote, warnings } from "./helpers.ts";

afterEach(cleanup);

const seg = (dir: string, i = 0) => join(dir, segmentName(i));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function openError(dir: string): unknown {
  try {
    open(dir);
  } catch (e) {
    return e;
  }
  return null;
}

/** Where each record of the newest segment starts and ends (sync markers left out). */
function recordsOf(dir: string): { offset: number; end: number }[] {
  return scanSegment(readFileSync(seg(dir)), seg(dir), true).records.map((r) => ({ offset: r.offset, end: r.offset + r.bytes }));
}

function flip(file: string, at: number): Buffer {
  const b = readFileSync(file);
  b[at] = (b[at] as number) ^ 0x04;
  writeFileSync(file, b);
  return b;
}

describe("sync markers: bit rot before the last marker is corruption", () => {
  for (const sync of ["fsync", "none"] as const)
    test(`a flipped bit in the last complete record (sync ${sync}): recovery refuses naming file and offset, inspect --verify exits 1`, async () => {
      const dir = tempDir();
      const w = open(dir, { sync });
      // Acknowledged, one group commit each: the last vote is the last record of the newest segment.
      await appendEach(w, [vote(0, 3, 64), vote(1, 3, 64), vote(2, 3, 64)]);
      await w.close();
      const last = recordsOf(dir).at(-1) as { offset: number; end: number };
      const damaged = flip(seg(dir), last.offset + 40);

      const err = openError(dir);
      expect(err).toBeInstanceOf(CorruptionError);
      expect((err as CorruptionError).offset).toBe(last.offset);
      expect((err as Error).message).toContain(`${seg(dir)} at offset ${last.offset}: record checksum mismatch`);
      // Refused, not repaired: the log is left as it was.
      expect(readFileSync(seg(dir)).equals(damaged)).toBe(true);

      const r = await cli(["ledger", "inspect", dir, "--verify"]);
      expect(r.code).toBe(1);
      expect(r.err).toStartWith(`paxos: write-ahead log is corrupt: ${seg(dir)} at offset ${last.offset}: record checksum mismatch`);
      expect(r.err.split("\n")).toHaveLength(2);
    });

  test("a damaged length (record header) in the middle of a group is corruption too", async () => {
    const dir = tempDir();
    const w = open(dir);
    // One group of three: one marker after all of them.
    await appendAll(w, [vote(0, 3, 64), vote(1, 3, 64), vote(2, 3, 64)]);
    await w.close();
    const second = recordsOf(dir)[2] as { offset: number };
    flip(seg(dir), second.offset + 1);
    expect((openError(dir) as CorruptionError).offset).toBe(second.offset);
  });

  test("a marker that does not cover what precedes it (a record gone from the middle) is corruption", async () => {
    const dir = tempDir();
    const w = open(dir);
    await appendAll(w, [vote(0, 3, 64), vote(1, 3, 64)]);
    await appendAll(w, [vote(2, 3, 64)]);
    await w.close();
    const [, v0, v1] = recordsOf(dir) as { offset: number; end: number }[];
    const b = readFileSync(seg(dir));
    writeFileSync(seg(dir), Buffer.concat([b.subarray(0, (v1 as { offset: number }).offset), b.subarray((v1 as { end: number }).end)]));
    const err = openError(dir) as CorruptionError;
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.offset).toBe((v0 as { end: number }).end);
    expect(err.reason).toMatch(/sync marker covers 2 record\(s\) from offset \d+, but 1 follow offset \d+/);
  });
});

describe("sync markers: a torn last write is cut with a warning", () => {
  test("a group cut mid-record after the last marker: the rest of it goes with a warning giving its size, nothing acknowledged is lost", async () => {
    const dir = tempDir();
    const w = open(dir);
    const acked: LedgerRecord[] = [{ k: "promise", rnd: 4 }, vote(0, 4, 100), vote(1, 4, 100)];
    let durable = 0;
    for (const r of acked) {
      w.append([r], () => durable++);
      await w.drained();
    }
    expect(durable).toBe(acked.length);
    // The write in flight at the crash: three votes in one group; the crash keeps half of its second.
    await appendAll(w, [vote(2, 4, 100), vote(3, 4, 100), vote(4, 4, 100)]);
    await w.close();
    const recs = recordsOf(dir);
    const second = recs.at(-2) as { offset: number; end: number };
    const cut = second.offset + 50;
    truncateSync(seg(dir), cut);

    const r = open(dir);
    // The acknowledged records, and the intact first vote of the torn write (harmless to keep).
    expect(r.recover()).toEqual([...acked, vote(2, 4, 100)]);
    expect(r.stats().truncatedBytes).toBe(cut - second.offset);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe(
      `write-ahead log: cut off a torn tail of ${cut - second.offset} bytes at ${seg(dir)} offset ${second.offset} (record of ${second.end - second.offset - 16} bytes runs past the end of the file); written after the last acknowledged write, so never acknowledged`,
    );
    expect(warnings[1]).toContain("1 record(s)");
    await appendAll(r, [vote(5, 4, 100)]);
    await r.close();

    // The kept vote was marked durable: the next start finds a clean log.
    warnings.splice(0);
    const again = open(dir);
    expect(again.recover()).toEqual([...acked, vote(2, 4, 100), vote(5, 4, 100)]);
    expect(again.stats().truncatedBytes).toBe(0);
    expect(warnings).toEqual([]);
    await again.close();
    expect((await cli(["ledger", "inspect", dir, "--verify"])).code).toBe(0);
  });

  test("inspect reports a torn tail with its size and the intact records after the last marker, and exits 0", async () => {
    const dir = tempDir();
    const w = open(dir);
    await appendEach(w, [vote(0, 4, 100)]);
    await appendAll(w, [vote(1, 4, 100), vote(2, 4, 100)]);
    await w.close();
    const last = recordsOf(dir).at(-1) as { offset: number };
    truncateSync(seg(dir), last.offset + 10);
    const r = await cli(["ledger", "inspect", dir, "--verify"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`torn tail: ${seg(dir)} at offset ${last.offset} (10 bytes, record header cut short)`);
    expect(r.out).toContain("1 record(s) after the last sync marker");
  });

  test("one marker per group commit, on disk before the group's callbacks run", async () => {
    const dir = tempDir();
    const w = open(dir);
    const seen: { unmarked: number; torn: unknown }[] = [];
    for (let i = 0; i < 200; i++)
      w.append([vote(i, 1)], () => {
        if (i === 0) {
          const s = scanSegment(readFileSync(seg(dir)), seg(dir), true);
          seen.push({ unmarked: s.unmarked, torn: s.torn });
        }
      });
    await w.drained();
    expect(seen).toEqual([{ unmarked: 0, torn: null }]);
    expect(w.stats().groups).toBe(1);
    await w.close();
    const s = scanSegment(readFileSync(seg(dir)), seg(dir), true);
    // The new segment's header and checkpoint, then the one group commit.
    expect(s.markers).toBe(2);
    expect(s.records).toHaveLength(201);
  });
});

/** A segment as a build before sync markers wrote it: format version 1, no markers. */
function legacySegment(records: readonly WalRecord[]): Buffer {
  const head = Buffer.from(segmentHeader());
  head.writeUInt16LE(1, 8);
  head.writeUInt32LE(checksum(head.subarray(0, 12)), 12);
  return Buffer.concat([head, ...records.map((r) => encodeRecord(r))]);
}

describe("sync markers: logs of format 1 (no markers)", () => {
  const old: WalRecord[] = [{ k: "checkpoint", rnd: 0, trimmedBelow: 0 }, { k: "promise", rnd: 9 }, vote(0, 9, 50), vote(1, 9, 50)];

  test("still recover as before, and go on in a new segment of format 2", async () => {
    const dir = tempDir();
    writeFileSync(seg(dir), legacySegment(old));
    const w = open(dir);
    expect(w.recover()).toEqual([{ k: "promise", rnd: 9 }, vote(0, 9, 50), vote(1, 9, 50)]);
    expect(w.stats().segments).toBe(2);
    await appendAll(w, [vote(2, 9, 50)]);
    await w.close();
    expect(readFileSync(seg(dir, 1)).readUInt16LE(8)).toBe(2);
    const again = open(dir);
    expect(again.recover()).toEqual([{ k: "promise", rnd: 9 }, vote(0, 9, 50), vote(1, 9, 50), { k: "promise", rnd: 9 }, vote(2, 9, 50)]);
    await again.close();
    expect(readdirSync(dir).filter((n) => n.endsWith(".wal"))).toHaveLength(2);
    expect((await cli(["ledger", "inspect", dir, "--verify"])).code).toBe(0);
  });

  test("keep the old rule: a damaged last record is a torn tail (cut, with a warning), one in the middle is corruption", async () => {
    const dir = tempDir();
    const bytes = legacySegment(old);
    const lastVote = bytes.length - encodeRecord(vote(1, 9, 50)).length;
    writeFileSync(seg(dir), bytes);
    flip(seg(dir), lastVote + 30);
    const w = open(dir);
    expect(w.recover()).toEqual([{ k: "promise", rnd: 9 }, vote(0, 9, 50)]);
    expect(w.stats().truncatedBytes).toBe(bytes.length - lastVote);
    expect(warnings[0]).toContain(`cut off a torn tail of ${bytes.length - lastVote} bytes`);
    await w.close();

    const d2 = tempDir();
    writeFileSync(seg(d2), bytes);
    flip(seg(d2), lastVote - 5);
    expect(openError(d2)).toBeInstanceOf(CorruptionError);
  });
});

describe("a node's ledger (openLedger)", () => {
  const entry = { id: 3, host: "127.0.0.1", port: 1, roles: ["acceptor" as const] };

  test("a torn tail cut at start is a warning naming ledger.dir and the size, and shows in the description", async () => {
    const base = tempDir();
    const dir = join(base, "node-3");
    const w = open(dir);
    await appendEach(w, [vote(0, 1, 80), vote(1, 1, 80)]);
    await w.close();
    const last = recordsOf(dir).at(-1) as { offset: number };
    truncateSync(seg(dir), last.offset + 7);
    const l = openLedger({ kind: "wal", dir: base, sync: "fsync", segmentBytes: 1 << 20 }, entry);
    expect(l.warnings).toEqual([
      `ledger.dir: write-ahead log: cut off a torn tail of 7 bytes at ${seg(dir)} offset ${last.offset} (record header cut short); written after the last acknowledged write, so never acknowledged`,
    ]);
    expect(l.describe).toBe(`wal ${dir} (sync fsync, 1 records recovered, torn tail of 7 bytes cut off)`);
    await l.close();
  });

  test("an I/O error names ledger.dir, the path and the errno once", () => {
    const base = tempDir();
    writeFileSync(join(base, "f"), "");
    expect(() => openLedger({ kind: "wal", dir: join(base, "f"), sync: "fsync", segmentBytes: 1 << 20 }, entry)).toThrow(
      `ledger.dir: cannot create ${join(base, "f", "node-3")}: ENOTDIR (not a directory)`,
    );
  });
});
