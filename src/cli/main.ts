#!/usr/bin/env node
// mlopsctl's entry point (bin/mlopsctl runs it on the project's Node 24).
import { runCli } from "./program.ts";

process.exitCode = await runCli(process.argv.slice(2));
