import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyText, KeyFileError, loadClusterKeys, readKeyFile } from "../../src/security/keys.ts";
import { tempDir } from "../support/temp-dir.ts";

const dir = tempDir("paxos-keys-");

describe("cluster key files", () => {
  test("paxos keygen's text (64 hex digits) and 32 raw bytes both read as the same key", () => {
    const text = generateKeyText();
    expect(text).toMatch(/^[0-9a-f]{64}\n$/);
    writeFileSync(join(dir, "hex.key"), text, { mode: 0o600 });
    writeFileSync(join(dir, "raw.key"), Buffer.from(text.trim(), "hex"), { mode: 0o600 });
    const hex = readKeyFile(join(dir, "hex.key"), "security.keyFile");
    expect(hex.warning).toBeNull();
    expect(readKeyFile(join(dir, "raw.key"), "security.keyFile").secret).toEqual(hex.secret);
  });

  test("a missing file or one without a key: one line naming the config key and the file", () => {
    expect(() => readKeyFile(join(dir, "nope.key"), "security.keyFile")).toThrow(new KeyFileError(`security.keyFile: cannot read ${join(dir, "nope.key")}: no such file`));
    writeFileSync(join(dir, "short.key"), "abcd\n");
    expect(() => loadClusterKeys({ keyFiles: [join(dir, "hex.key"), join(dir, "short.key")] })).toThrow(/^security\.keyFiles\[1\]: .*short\.key holds no key/);
  });

  test("a key file others may read comes with a warning", () => {
    writeFileSync(join(dir, "open.key"), generateKeyText());
    chmodSync(join(dir, "open.key"), 0o644);
    expect(loadClusterKeys({ keyFile: join(dir, "open.key") }).warnings).toEqual([`security.keyFile: ${join(dir, "open.key")} is readable by others than its owner (chmod 600 ${join(dir, "open.key")})`]);
    expect(loadClusterKeys(undefined)).toEqual({ secrets: [], warnings: [] });
  });
});
