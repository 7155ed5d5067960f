import { expect, test } from "bun:test";
import { SocketSetupError } from "../../src/node/socket-setup-error.ts";

test("a socket that cannot open says which, with the system's message and code", () => {
  const cause = Object.assign(new Error("bind EADDRINUSE 127.0.0.1:7000"), { code: "EADDRINUSE" });
  const e = new SocketSetupError("tcp", cause);
  expect([e.name, e.socket, e.code, e.message, e.cause]).toEqual(["SocketSetupError", "tcp", "EADDRINUSE", cause.message, cause]);
  expect(new SocketSetupError("multicast", "odd").code).toBeUndefined();
});
