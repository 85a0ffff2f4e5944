#!/usr/bin/env node
// Serves the built web demo (examples/web/build by default) on 127.0.0.1 (serve-static).
//   node examples/web/serve.mjs [--dir examples/web/build] [--port 8080]
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import finalhandler from 'finalhandler';
import serveStatic from 'serve-static';

const argv = process.argv.slice(2);
const option = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const dir = resolve(option('dir', join(dirname(fileURLToPath(import.meta.url)), 'build')));
const serve = serveStatic(dir, { index: ['index.html'] });
const server = createServer((req, res) => serve(req, res, finalhandler(req, res)));
server.listen(Number(option('port', '8080')), '127.0.0.1', () => {
  // The first line says where (tests read the port from it).
  console.log(`http://127.0.0.1:${server.address().port}/`);
});
