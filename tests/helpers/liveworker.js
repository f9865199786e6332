// A Node.js worker for the liveness tests: answers / with its name and pid, and
// /health with 200, or 500 while the file $LIVE_DIR/sick-<name> exists. On SIGTERM
// it writes $LIVE_DIR/<name>.<pid>.json: how many requests for / it served and when
// (ms since the epoch) the last one arrived, then closes as examples/worker.js does.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const port = Number(process.env.PORT);
const name = process.env.SUPERVISOR_PROCESS_NAME;
const dir = process.env.LIVE_DIR;
let count = 0;
let last = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    const sick = fs.existsSync(path.join(dir, `sick-${name}`));
    res.writeHead(sick ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(sick ? 'sick\n' : 'ok\n');
    return;
  }
  count++;
  last = Date.now();
  const body = JSON.stringify({ worker: name, port, pid: process.pid }) + '\n';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.listen(port, '127.0.0.1');

process.on('SIGTERM', () => {
  // what was already sent to it (a frozen worker's backlog) is still answered
  setImmediate(() => {
    fs.writeFileSync(path.join(dir, `${name}.${process.pid}.json`), JSON.stringify({ count, last }));
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
});
