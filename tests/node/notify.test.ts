import { describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { sdNotify, sockaddrUn } from "../../src/node/notify.ts";
import { tempDir } from "../support/temp-dir.ts";

describe("sd_notify", () => {
  test("struct sockaddr_un: AF_UNIX, the path NUL-terminated; '@' is the abstract namespace (leading NUL, no terminator)", () => {
    const p = sockaddrUn("/run/x");
    expect(p?.len).toBe(2 + 6 + 1);
    expect([...(p?.addr.subarray(0, 9) ?? [])]).toEqual([1, 0, ...Buffer.from("/run/x"), 0]);
    const a = sockaddrUn("@sd");
    expect(a?.len).toBe(2 + 3);
    expect([...(a?.addr.subarray(0, 5) ?? [])]).toEqual([1, 0, 0, ...Buffer.from("sd")]);
    expect(sockaddrUn(`/${"x".repeat(107)}`)).toBeNull();
  });

  test("without NOTIFY_SOCKET nothing is sent", async () => {
    expect(await sdNotify("READY=1", {})).toBe("not-requested");
  });

  const python = spawnSync("python3", ["--version"]).status === 0;
  test.skipIf(!python)("the native path (bun:ffi) and the systemd-notify fallback both reach a unix datagram socket", async () => {
    const sock = join(tempDir("paxos-notify-"), "n.sock");
    const listener = spawn("python3", ["-u", "-c", `import socket\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(sock)})\nprint("bound")\nwhile True: print(s.recv(4096).decode())`], { stdio: ["ignore", "pipe", "inherit"] });
    let heard = "";
    listener.stdout?.on("data", (b: Buffer) => (heard += b.toString()));
    try {
      while (!heard.includes("bound")) await new Promise((r) => setTimeout(r, 20));
      expect(await sdNotify("READY=1", { NOTIFY_SOCKET: sock })).toBe("sent");
      const hasSystemdNotify = spawnSync("systemd-notify", ["--help"]).status === 0;
      expect(await sdNotify("STOPPING=1", { ...process.env, NOTIFY_SOCKET: sock }, "spawn")).toBe(hasSystemdNotify ? "spawned" : "unavailable");
      const want = hasSystemdNotify ? ["READY=1", "STOPPING=1"] : ["READY=1"];
      const t0 = Date.now();
      while (want.some((w) => !heard.includes(w)) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
      // (systemd-notify may add a BARRIER=1 of its own.)
      expect(heard.split("\n").filter((l) => want.includes(l))).toEqual(want);
    } finally {
      listener.kill("SIGKILL");
    }
  });
});
