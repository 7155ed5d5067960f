/** Preloaded by `bun test` (bunfig.toml): what every test file shares once the last test ran. */
import { afterAll } from "bun:test";
import { removeTempDirs } from "./temp-dir.ts";

afterAll(removeTempDirs);
