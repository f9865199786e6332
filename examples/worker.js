// A minimal Node.js worker for tend's demo: no npm dependencies.
// Listens on $PORT, answers with its own port and pid, closes cleanly on SIGTERM.
'use strict';
const http = require('http');

const port = Number(process.env.PORT || 8000);
const name = process.env.SUPERVISOR_PROCESS_NAME || `worker:${port}`;

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  const body = JSON.stringify({ worker: name, port, pid: process.pid, url: req.url }) + '\n';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

// nginx keeps idle upstream connections for keepalive_timeout (60s by default);
// the worker must keep them longer, or nginx may reuse a socket the worker just closed.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;

server.listen(port, '127.0.0.1', () => console.log(`${name} listening on 127.0.0.1:${port}`));

process.on('SIGTERM', () => {
  console.log(`${name} closing on SIGTERM`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
