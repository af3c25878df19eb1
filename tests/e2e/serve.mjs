// A static server on loopback for a built bundle (a flat folder, as trunk writes it), shared by
// the end-to-end test and the bundle measurement. With `gzip`, every file is compressed once
// (level 9) and sent with content-encoding gzip, as a static host would.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

// Serves `dist` on a free port; returns its base URL, each file's raw and sent sizes, and the server.
export async function serve(dist, { gzip = false } = {}) {
  const files = {};
  for (const name of fs.readdirSync(dist)) {
    const full = path.join(dist, name);
    if (!fs.statSync(full).isFile()) continue;
    const raw = fs.readFileSync(full);
    files[`/${name}`] = { raw, body: gzip ? zlib.gzipSync(raw, { level: 9 }) : raw };
  }
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://localhost");
    const name = pathname === "/" ? "/index.html" : pathname;
    const file = files[name];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": types[path.extname(name)] ?? "application/octet-stream",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    res.end(file.body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sizes = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, { bytes: f.raw.length, sent_bytes: f.body.length }]));
  return { base: `http://127.0.0.1:${server.address().port}/`, sizes, server };
}
