import { describe, expect, test } from "bun:test";
import { chooseNode, IdentityError } from "../../src/config/identity.ts";
import { parseConfig } from "../../src/config/load.ts";

const config = parseConfig(
  JSON.stringify({
    variant: "uring",
    nodes: [
      { id: 0, host: "10.0.0.1", port: 7000, roles: ["coordinator", "acceptor", "learner"] },
      { id: 1, host: "10.0.0.2", port: 7000, roles: ["acceptor", "learner"] },
      { id: 2, host: "10.0.0.3", port: 7000, roles: ["acceptor", "learner"] },
      { id: 3, host: "10.0.0.3", port: 7001, roles: ["client"] },
    ],
  }),
);

describe("which node am I", () => {
  test("--id picks the node, and must carry the roles asked for", () => {
    expect(chooseNode(config, "c.json", { id: 1 }, new Set()).id).toBe(1);
    expect(() => chooseNode(config, "c.json", { id: 9 }, new Set())).toThrow("c.json has no node with id 9 (ids: 0, 1, 2, 3)");
    expect(() => chooseNode(config, "c.json", { id: 3, roles: ["acceptor"] }, new Set())).toThrow(
      "node 3 of c.json does not have the role acceptor (it has: client)",
    );
  });

  test("without --id, the node whose host is an address of this machine", () => {
    expect(chooseNode(config, "c.json", {}, new Set(["127.0.0.1", "10.0.0.2"])).id).toBe(1);
  });

  test("the role narrows the local candidates: two nodes on 10.0.0.3, one acceptor", () => {
    expect(chooseNode(config, "c.json", { roles: ["acceptor"] }, new Set(["10.0.0.3"])).id).toBe(2);
  });

  test("ambiguous or missing: the error says which flag to add", () => {
    expect(() => chooseNode(config, "c.json", {}, new Set(["10.0.0.3"]))).toThrow(
      "2 nodes of c.json have an address of this host (ids 2, 3); add --id N",
    );
    expect(() => chooseNode(config, "c.json", { roles: ["acceptor"] }, new Set(["192.0.2.1"]))).toThrow(IdentityError);
    expect(() => chooseNode(config, "c.json", { roles: ["acceptor"] }, new Set(["192.0.2.1"]))).toThrow(
      "no node of c.json with the role acceptor has an address of this host; add --id N",
    );
  });
});
