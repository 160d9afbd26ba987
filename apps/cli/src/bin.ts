#!/usr/bin/env node
import { main } from "./cli.js";
import { installSignalHandlers } from "./signals.js";

// Piping into `head` closes stdout early: that is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

// SIGINT / SIGTERM / SIGHUP while a model or result is being written: remove
// the temporary file, then end by the signal (a shell reports 130 / 143 / 129).
installSignalHandlers();

process.exitCode = await main(process.argv.slice(2));
