#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` at the repository root, or `npm run build`).
import { main } from '../dist/main.js';

// `lth models | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Ctrl-C and SIGTERM stop a run cleanly (exit 130 and 143): main handles them for the whole process.
process.exitCode = await main(process.argv, undefined, { handleSignals: true });
