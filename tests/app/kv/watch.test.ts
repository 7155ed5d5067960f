import { describe, expect, test } from "bun:test";
import type { Change } from "../../../src/app/kv/kv-machine.ts";
import { MAX_HISTORY, MAX_WATCHERS, type Watcher, WatchHub } from "../../../src/app/kv/watch.ts";

const b = (s: string) => new TextEncoder().encode(s);
const put = (key: string, revision: number): Change => ({ type: "put", key: b(key), value: b("v"), revision });

function watcher(prefix: string, capacity = Infinity): Watcher & { readonly got: number[]; ended: string | null } {
  const got: number[] = [];
  const w = {
    prefix: b(prefix),
    got,
    ended: null as string | null,
    send: (c: Change) => {
      got.push(c.revision);
      return got.length < capacity;
    },
    end: (reason: string) => void (w.ended = reason),
  };
  return w;
}

describe("WatchHub", () => {
  test("live changes go to the watchers whose prefix they match; a watch from a past revision replays what is held first", () => {
    const hub = new WatchHub(1);
    const all = watcher("");
    const ab = watcher("a/");
    hub.watch(all, 0);
    hub.watch(ab, 0);
    hub.publish([put("a/1", 5), put("b/1", 6), put("a", 7), put("a/2", 8)]);
    expect(all.got).toEqual([5, 6, 7, 8]);
    expect(ab.got).toEqual([5, 8]);
    const late = watcher("a/");
    expect(hub.watch(late, 6).ok).toBe(true);
    expect(late.got).toEqual([8]);
    hub.publish([put("a/3", 9)]);
    expect(late.got).toEqual([8, 9]);
  });

  test("COMPACTED below what the hub holds: before its start, or dropped past MAX_HISTORY", () => {
    const hub = new WatchHub(100);
    expect(hub.watch(watcher(""), 99)).toMatchObject({ ok: false, code: "COMPACTED", oldest: 100 });
    expect(hub.watch(watcher(""), 100).ok).toBe(true);
    hub.publish(Array.from({ length: MAX_HISTORY + 3 }, (_, i) => put("k", 100 + i)));
    expect(hub.watch(watcher(""), 102)).toMatchObject({ ok: false, code: "COMPACTED", oldest: 103 });
    const w = watcher("");
    expect(hub.watch(w, 103).ok).toBe(true);
    expect(w.got.length).toBe(MAX_HISTORY);
  });

  test("a watcher that cannot keep up is dropped and told; the number of watchers is bounded; close ends them all", () => {
    const hub = new WatchHub(1);
    const slow = watcher("", 2);
    hub.watch(slow, 0);
    hub.publish([put("a", 1), put("b", 2), put("c", 3)]);
    expect(slow.ended).toBe("slow");
    expect(slow.got).toEqual([1, 2]);
    expect(hub.size).toBe(0);
    const many = Array.from({ length: MAX_WATCHERS }, () => watcher(""));
    for (const w of many) expect(hub.watch(w, 0).ok).toBe(true);
    expect(hub.watch(watcher(""), 0)).toMatchObject({ ok: false, code: "BUSY" });
    hub.close();
    expect(many.every((w) => w.ended === "closed")).toBe(true);
  });
});
