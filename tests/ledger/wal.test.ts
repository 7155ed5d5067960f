import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LedgerRecord } from "../../src/core/types.ts";
import { scanSegment, segmentName, CorruptionError } from "../../src/ledger/segment.ts";
import { WalLedger, WalLockedError } from "../../src/ledger/wal.ts";
import { appendAll, appendEach, cleanup, open, tempDir, vote, warnings } from "./helpers.ts";

afterEach(cleanup);

const seg0 = (dir: string) => join(dir, segmentName(0));

describe("write-ahead log: append and recover", () => {
  test("what was appended is recovered after a reopen, in order, payload bytes included", async () => {
    const dir = tempDir();
    const records: LedgerRecord[] = [
      { k: "promise", rnd: 17 },
      vote(0, 17, 8192),
      vote(1, 17, 0),
      { k: "decision", instance: 0, vid: "17.0" },
      { k: "promise", rnd: 33 },
      vote(1, 33, 100),
      { k: "trim", below: 1 },
    ];
    const w = open(dir);
    expect(await appendAll(w, records)).toBe(records.length);
    await w.close();
    const r = open(dir);
    expect(r.recover()).toEqual(records);
    expect(r.stats().truncatedBytes).toBe(0);
    await r.close();
  });

  test("a durable callback runs only after the bytes are in the file, and callbacks run in append order", async () => {
    const dir = tempDir();
    const w = open(dir);
    const order: number[] = [];
    const sizeBefore = statSync(seg0(dir)).size;
    for (let i = 0; i < 5; i++)
      w.append([vote(i, 1, 1000)], () => {
        order.push(i);
        expect(statSync(seg0(dir)).size).toBeGreaterThan(sizeBefore + 1000 * (i + 1));
      });
    expect(order).toEqual([]); // nothing is durable synchronously
    await w.drained();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    await w.close();
  });

  test("group commit: appends made while a sync is in progress share the next write and sync", async () => {
    const dir = tempDir();
    const w = open(dir);
    for (let i = 0; i < 200; i++) w.append([vote(i, 1)], () => {});
    await w.drained();
    // All 200 arrived in one turn of the event loop: one group.
    expect(w.stats().groups).toBe(1);
    expect(w.stats().lastGroupRecords).toBe(200);
    // Appends arriving while a write+sync is in flight wait, and all go out in the next single group.
    w.append([vote(1000, 1)], () => {});
    await new Promise<void>((r) =>
      setImmediate(() => {
        for (let i = 1; i <= 99; i++) w.append([vote(1000 + i, 1)], () => {});
        r();
      }),
    );
    await w.drained();
    expect(w.stats().groups).toBe(3);
    expect(w.stats().lastGroupRecords).toBe(99);
    expect(w.stats().recordsAppended).toBe(300);
    await w.close();
    expect(open(dir).recover().length).toBe(300);
  });

  test("sync none also recovers everything after a clean close", async () => {
    const dir = tempDir();
    const w = open(dir, { sync: "none" });
    await appendAll(w, [vote(0, 1), vote(1, 1)]);
    await w.close();
    const r = open(dir, { sync: "none" });
    expect(r.recover()).toEqual([vote(0, 1), vote(1, 1)]);
    await r.close();
  });
});

describe("write-ahead log: torn tails and corruption", () => {
  /** A log of `n` votes, each its own group commit (its own write and sync marker). */
  async function logWith(n: number): Promise<{ dir: string; lastOffset: number; lastEnd: number; size: number }> {
    const dir = tempDir();
    const w = open(dir);
    await appendEach(w, Array.from({ length: n }, (_, i) => vote(i, 5, 40)));
    await w.close();
    const buf = readFileSync(seg0(dir));
    const scan = scanSegment(buf, seg0(dir), true);
    const last = scan.records.at(-1) as { offset: number; bytes: number };
    return { dir, lastOffset: last.offset, lastEnd: last.offset + last.bytes, size: buf.length };
  }

  test("a last write cut at every byte offset is cut off with a warning giving its size, and the log goes on from there", async () => {
    const { dir, lastOffset, lastEnd, size } = await logWith(4);
    for (let cut = lastOffset; cut < size; cut++) {
      const d = tempDir();
      copyFileSync(seg0(dir), seg0(d));
      truncateSync(seg0(d), cut);
      warnings.splice(0);
      const w = open(d);
      // Cut inside the vote: it goes. Cut inside its marker: the intact vote stays (and is marked now).
      const kept = cut < lastEnd ? 3 : 4;
      const torn = cut < lastEnd ? cut - lastOffset : cut - lastEnd;
      expect(w.recover()).toEqual([0, 1, 2, 3].slice(0, kept).map((i) => vote(i, 5, 40)));
      expect(w.stats().truncatedBytes).toBe(torn);
      if (torn > 0) expect(warnings[0]).toContain(`cut off a torn tail of ${torn} bytes at ${seg0(d)}`);
      expect(statSync(seg0(d)).size).toBe(kept === 3 ? lastOffset : size);
      await appendAll(w, [vote(9, 6, 40)]);
      await w.close();
      warnings.splice(0);
      const again = open(d);
      expect(again.recover().map((r) => (r.k === "vote" ? r.instance : -1))).toEqual([...[0, 1, 2, 3].slice(0, kept), 9]);
      expect({ cut, truncated: again.stats().truncatedBytes, warnings }).toEqual({ cut, truncated: 0, warnings: [] });
      await again.close();
      rmSync(d, { recursive: true });
    }
  });

  test("a flipped bit in the last sync marker is cut as torn (the records before it are kept); in the record before it, it is corruption", async () => {
    const { dir, lastOffset, lastEnd, size } = await logWith(3);
    for (const at of [lastEnd + 2, lastEnd + 13, size - 1]) {
      const d = tempDir();
      const buf = readFileSync(seg0(dir));
      buf[at] = (buf[at] as number) ^ 0x10;
      writeFileSync(seg0(d), buf);
      const w = open(d);
      expect(w.recover()).toEqual([0, 1, 2].map((i) => vote(i, 5, 40)));
      expect(w.stats().truncatedBytes).toBe(size - lastEnd);
      await w.close();
    }
    for (const at of [lastOffset + 2, lastOffset + 13, lastEnd - 1]) {
      const d = tempDir();
      const buf = readFileSync(seg0(dir));
      buf[at] = (buf[at] as number) ^ 0x10;
      writeFileSync(seg0(d), buf);
      expect(() => open(d)).toThrow(`${seg0(d)} at offset ${lastOffset}`);
    }
  });

  test("a flipped bit in the middle is refused, naming the file and the offset of the damaged record", async () => {
    const { dir } = await logWith(5);
    const buf = readFileSync(seg0(dir));
    const scan = scanSegment(buf, seg0(dir), true);
    const victim = scan.records[2] as { offset: number };
    for (const at of [victim.offset + 1, victim.offset + 20]) {
      const d = tempDir();
      const b = Buffer.from(buf);
      b[at] = (b[at] as number) ^ 0x01;
      writeFileSync(seg0(d), b);
      let err: unknown = null;
      try {
        open(d);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CorruptionError);
      expect((err as CorruptionError).offset).toBe(victim.offset);
      expect((err as Error).message).toContain(`${seg0(d)} at offset ${victim.offset}`);
      // The refused log is left as it was, for the operator to look at.
      expect(readFileSync(seg0(d)).equals(b)).toBe(true);
    }
  });

  test("damage at the tail of an older segment is corruption too: only the newest segment can be torn", async () => {
    const dir = tempDir();
    const w = open(dir, { segmentBytes: 4096 });
    await appendEach(w, Array.from({ length: 40 }, (_, i) => vote(i, 5, 200)));
    await w.close();
    expect(readdirSync(dir).filter((n) => n.endsWith(".wal")).length).toBeGreaterThan(2);
    const size = statSync(seg0(dir)).size;
    truncateSync(seg0(dir), size - 3);
    expect(() => open(dir, { segmentBytes: 4096 })).toThrow(CorruptionError);
  });

  test("a segment whose file header never made it is dropped; a foreign file header is refused", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(seg0(dir), Buffer.from("PAXOSW"));
    const w = open(dir);
    expect(w.recover()).toEqual([]);
    await appendAll(w, [vote(0, 1)]);
    await w.close();
    expect(open(dir).recover()).toEqual([vote(0, 1)]);
    cleanup();
    const d2 = tempDir();
    writeFileSync(seg0(d2), Buffer.from("NOTAPAXOSLOGFILE-and-more"));
    expect(() => open(d2)).toThrow(/bad magic/);
  });
});

describe("write-ahead log: segments, trims and locks", () => {
  test("segments rotate; a trim deletes the segments wholly below it and keeps the promise in the next checkpoint", async () => {
    const dir = tempDir();
    const w = open(dir, { segmentBytes: 4096 });
    await appendAll(w, [{ k: "promise", rnd: 42 }]);
    await appendEach(w, Array.from({ length: 60 }, (_, i) => vote(i, 42, 300)));
    const before = w.stats().segments;
    expect(before).toBeGreaterThan(3);
    await appendAll(w, [{ k: "trim", below: 50 }]);
    const after = w.stats();
    expect(after.segments).toBeLessThan(before);
    expect(after.segmentsDeleted).toBe(before - after.segments);
    expect(after.diskBytes).toBe(readdirSync(dir).filter((n) => n.endsWith(".wal")).reduce((a, n) => a + statSync(join(dir, n)).size, 0));
    await w.close();
    const r = open(dir, { segmentBytes: 4096 });
    const rec = r.recover();
    expect(rec.some((x) => x.k === "promise" && x.rnd === 42)).toBe(true);
    // Every vote at or above the trim point is still there.
    const kept = rec.filter((x) => x.k === "vote").map((x) => (x.k === "vote" ? x.instance : -1));
    for (let i = 50; i < 60; i++) expect(kept).toContain(i);
    await r.close();
  });

  test("a second open of the same log is refused, in this process and from another live process; a dead holder's lock is taken over", async () => {
    const dir = tempDir();
    const w = open(dir);
    expect(() => open(dir)).toThrow(WalLockedError);
    await w.close();
    const sleeper = spawn("sleep", ["30"]);
    try {
      writeFileSync(join(dir, "LOCK"), `${sleeper.pid}\n`);
      expect(() => open(dir)).toThrow(/in use by process/);
    } finally {
      sleeper.kill("SIGKILL");
    }
    const dead = spawnSync("true").pid as number;
    writeFileSync(join(dir, "LOCK"), `${dead}\n`);
    const again = open(dir);
    await again.close();
  });

  test("a failed write stops the ledger: onFatal is told and no durable callback ever runs", async () => {
    const dir = tempDir();
    const mnt = join(dir, "tiny");
    mkdirSync(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]);
    if (m.status !== 0) {
      console.log("skipped: cannot mount a tiny tmpfs here (not root?)");
      return;
    }
    try {
      let fatal: Error | null = null;
      const w = WalLedger.open({ dir: mnt, sync: "fsync", segmentBytes: 1 << 20, onFatal: (e) => (fatal = e) });
      let durable = 0;
      for (let i = 0; i < 40; i++) w.append([vote(i, 1, 4096)], () => durable++);
      const t0 = Date.now();
      while (fatal === null && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(String(fatal)).toMatch(/ENOSPC/);
      expect(durable).toBe(0);
      expect(() => w.append([vote(99, 1)], () => durable++)).toThrow(/ENOSPC/);
      await w.close();
    } finally {
      spawnSync("umount", [mnt]);
    }
  });
});
