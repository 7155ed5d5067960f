import { expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { SocketSetupError } from "../../src/node/socket-setup-error.ts";
import { startupError } from "../../src/node/startup-error.ts";
import { twoRingConfig } from "./rings-helpers.ts";

const sysError = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

test("a ring's group that fails names that ring's keys; a single ring's names the multicast section, as before", async () => {
  const c = await twoRingConfig({ ring2Interface: "10.255.255.1" });
  const entry = c.nodes[0];
  if (!entry) throw new Error("no node 0");
  const g2 = c.rings?.[1]?.multicast;
  const iface = startupError("multicast", new SocketSetupError("multicast", sysError("ENODEV", "addMembership"), 2), entry, c);
  expect(iface.message).toBe("rings[1].multicast.interface: 10.255.255.1 is not an address of this host (ENODEV)");
  const inUse = startupError("multicast", new SocketSetupError("multicast", sysError("EADDRINUSE", "bind"), 2), entry, c);
  expect(inUse.message).toBe(`rings[1].multicast.port: ${g2?.group}:${g2?.port} is in use (EADDRINUSE)`);

  const single = parseConfig(
    JSON.stringify({
      variant: "mring",
      nodes: [
        { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor", "learner"] },
        { id: 1, host: "127.0.0.1", port: 7001, roles: ["acceptor"] },
        { id: 2, host: "127.0.0.1", port: 7002, roles: ["acceptor"] },
      ],
      multicast: { group: "239.1.2.3", port: 5000 },
    }),
  );
  const s0 = single.nodes[0];
  if (!s0) throw new Error("no node 0");
  expect(startupError("multicast", new SocketSetupError("multicast", sysError("EADDRINUSE", "bind"), 0), s0, single).message).toBe("multicast.port: 239.1.2.3:5000 is in use (EADDRINUSE)");
  expect(startupError("multicast", new SocketSetupError("multicast", sysError("EADDRINUSE", "bind")), s0, single).message).toBe("multicast.port: 239.1.2.3:5000 is in use (EADDRINUSE)");
});
