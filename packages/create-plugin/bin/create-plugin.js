#!/usr/bin/env node
// `npm init @lth/plugin <name>` runs this (npm maps the initializer @lth/plugin to @lth/create-plugin).
import { main } from '../dist/main.js';

process.exitCode = main(process.argv.slice(2), { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
