#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` at the repository root, or `npm run build`).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv);
