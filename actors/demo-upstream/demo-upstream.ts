/**
 * The built-in demo upstream the embedded default config points at, so a
 * first `zproxy start` shows a working page without any other server. It
 * runs on the main thread (it is a demo, not a benchmark target) and echoes
 * what the proxy forwarded, which shows the X-Forwarded-* and Via fields.
 */
import http from 'node:http';

const PAGE_HEAD = `<!doctype html><html><head><meta charset="utf-8"><title>zproxy is working</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}</style></head><body>
<h1>zproxy is working</h1>
<p>This page comes from zproxy's built-in demo upstream, through the proxy. Point <code>upstreams</code> in your config at your own servers and start with <code>zproxy start -c your.json</code>.</p>
<h2>What the upstream received</h2><pre>`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

export function startDemoUpstream(address: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      const wantsJson = (req.headers.accept ?? '').includes('application/json');
      if (wantsJson) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE_HEAD + escapeHtml(lines.join('\n')) + '</pre></body></html>\n');
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
