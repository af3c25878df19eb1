// Measures a build of the browser demonstrator as a learner receives it (a benchmark, not a
// test): the gzip-transferred size of each file, and over fresh page loads in Debian's headless
// Chromium on the CPU fallback (no GPU), the first contentful paint, the time to interactive
// (the app mounted: its Start button on the page) and, after clicking Start, the time to the
// mollifier panel's first training step (the worker loads the module a second time).
//
//   node bundle.mjs --dist DIR [--runs N] [--out FILE.json]
//
// The server (serve.mjs) gzips every file once and sends it compressed, as a static host would.

import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const dist = path.resolve(flag("--dist", "dist"));
const runs = Number(flag("--runs", "5"));
const outFile = flag("--out", null);
if (!fs.existsSync(path.join(dist, "index.html"))) {
  console.error(`error: ${dist} holds no index.html (build the bundle first: bash scripts/web.sh --build)`);
  process.exit(2);
}

const { base, sizes, server } = await serve(dist, { gzip: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-gpu",
  ],
});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const loads = [];
try {
  for (let i = 0; i < runs; i++) {
    // A fresh context each time: nothing cached, as on a learner's first visit.
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    const page = await context.newPage();
    await page.goto(base, { waitUntil: "commit" });
    await page.waitForSelector("[data-testid=start]", { timeout: 60_000 });
    const [interactive, paint] = await page.evaluate(() => [
      performance.now(),
      performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    ]);
    await page.click("[data-testid=start]");
    await page.waitForFunction(
      () => Number(document.querySelector("[data-testid=panel-mollifier]")?.dataset.step ?? 0) >= 1,
      null,
      { timeout: 120_000 },
    );
    const firstStep = await page.evaluate(() => performance.now());
    loads.push({ interactive_ms: interactive, first_paint_ms: paint, first_step_ms: firstStep });
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}

const report = {
  dist,
  files: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, { bytes: v.bytes, gzip_bytes: v.sent_bytes }])),
  total_gzip_bytes: Object.values(sizes).reduce((s, f) => s + f.sent_bytes, 0),
  loads,
  median: {
    interactive_ms: median(loads.map((l) => l.interactive_ms)),
    first_paint_ms: median(loads.map((l) => l.first_paint_ms ?? Infinity)),
    first_step_ms: median(loads.map((l) => l.first_step_ms)),
  },
};
for (const [name, f] of Object.entries(report.files)) {
  console.log(`${name.padEnd(24)} ${(f.bytes / 1e6).toFixed(2).padStart(7)} MB   gzip ${(f.gzip_bytes / 1e6).toFixed(2).padStart(6)} MB`);
}
console.log(`transferred (gzip): ${(report.total_gzip_bytes / 1e6).toFixed(2)} MB`);
console.log(
  `median of ${runs} fresh loads (CPU fallback): first paint ${report.median.first_paint_ms.toFixed(0)} ms, ` +
    `interactive ${report.median.interactive_ms.toFixed(0)} ms, first training step ${report.median.first_step_ms.toFixed(0)} ms`,
);
if (outFile) fs.writeFileSync(outFile, JSON.stringify(report, null, 2));
