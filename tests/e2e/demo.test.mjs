// End-to-end test of the browser demonstrator (the `trunk build` output in dist/): serve it on
// loopback, open it in Debian's Chromium through playwright-core, refuse a bad dataset file, run
// the heat comparison and check what a student would see.
//
//   node demo.test.mjs [--webgpu | --shader] [--dist DIR] [--out DIR] [--seconds N]
//
// Without a flag Chromium has no WebGPU adapter and the app must fall back to the CPU. With
// --webgpu, SwiftShader's adapter (--enable-unsafe-webgpu) trains in the worker; with --shader
// the worker trains on the CPU (backend=cpu in the link) and the page draws the fields with the
// WGSL heatmap shader on that adapter.
// Passes when both panels advance ≥ 50 steps (WebGPU on SwiftShader: ≥ 3, a measurement run),
// no panel shows an error,
// the correlation readouts are numbers in [−1, 1], on the CPU the mollifier's is the higher and
// reaches 0.9 within the time limit, and the page never stalls: the longest gap between
// animation frames stays under 200 ms.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const shader = args.includes("--shader");
const webgpu = args.includes("--webgpu");
const dist = path.resolve(flag("--dist", path.join(here, "..", "..", "dist")));
const out = path.resolve(flag("--out", path.join(here, "out")));
const limit = Number(flag("--seconds", "60"));
const mode = webgpu ? "webgpu" : shader ? "shader" : "cpu";
// The default page's ∇²T correlations, mollifier minus autodiff, at their largest within 60 s
// once the mollifier's is ≥ 0.8.
// Measured 2026-11-25: at 20 s 0.900 vs 0.671 (476 vs 113 steps) on an idle machine, 0.810 vs
// 0.464 (212 vs 54) on a loaded one; at 60 s 0.914 vs 0.840 (604 vs 152): the gap is the
// mollifier's four times as many steps in the same time, and it closes; at equal steps
// autodiff's ∇²T is the better one on quick heat (docs/results.md).
const DEFAULT_GAP = 0.2;
fs.mkdirSync(out, { recursive: true });

function fail(message) {
  console.error(`FAIL (${mode}): ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

const { base, server } = await serve(dist);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ...(webgpu || shader ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]),
  ],
});
const readouts = (page) =>
  page.$$eval("article.panel[data-testid]", (panels) =>
    Object.fromEntries(panels.map((p) => [p.dataset.testid.replace("panel-", ""), {
      step: Number(p.dataset.step),
      correlation: p.dataset.correlation === "" ? null : Number(p.dataset.correlation),
      derivativeCorrelation: p.dataset.derivativeCorrelation === "" ? null : Number(p.dataset.derivativeCorrelation),
      shown: p.querySelector("[data-testid=correlation]").textContent,
      msPerStep: Number(p.dataset.msPerStep),
      error: p.querySelector(".error")?.textContent ?? null,
    }])));

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${base}?problem=heat&case=smooth&noise=0&kernel=bump&size=11&arch=pinn&seed=0&steps=1000&backend=${shader ? "cpu" : "auto"}`);
  await page.waitForSelector("[data-testid=start]");

  // A lone CSV is not a dataset: the page says so and keeps working.
  await page.setInputFiles("[data-testid=dataset]", {
    name: "field.csv", mimeType: "text/csv", buffer: Buffer.from("1,2\n3,4\n"),
  });
  const notice = await page.waitForSelector("[data-testid=notice]", { timeout: 10_000 });
  const text = await notice.textContent();
  if (!text.includes("dataset not loaded") || !text.includes("dataset.json")) fail(`unclear message: ${text}`);
  console.log(`bad dataset refused: ${text}`);

  // Frame gaps on the page's own thread while the worker trains.
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    const tick = (t) => { window.__gaps.push([t - last, t]); last = t; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([e.duration, e.startTime])))
      .observe({ type: "longtask" });
  });
  const clickedAt = await page.evaluate(() => performance.now());
  await page.click("[data-testid=start]");
  const started = Date.now();
  await page.waitForSelector("[data-testid=panel-mollifier]", { timeout: 60_000 });
  const backend = await page.textContent("[data-testid=backend]");
  const heatmaps = await page.textContent("[data-testid=heatmaps]").catch(() => "(no badge)");
  console.log(`backend badge: ${backend}\nheatmap badge: ${heatmaps}`);
  if (webgpu !== backend.includes("WebGPU")) fail(`expected ${mode} training, badge says: ${backend}`);

  let r, reached = null;
  // Both panels must pass 50 steps; give the slower one up to three times the limit.
  const deadline = started + 3000 * limit;
  for (;;) {
    await page.waitForTimeout(1000);
    r = await readouts(page);
    const t = (Date.now() - started) / 1000;
    if (reached === null && (r.mollifier?.correlation ?? -1) >= 0.9) reached = t;
    const enough = webgpu
      ? r.autodiff?.step >= 3 && r.mollifier?.step >= 3
      : r.autodiff?.step >= 50 && r.mollifier?.step >= 50;
    const failed = Object.values(r).some((p) => p.error);
    if ((enough && (reached !== null || webgpu)) || failed || Date.now() > deadline) break;
    if (Math.round(t) % 15 === 0) console.log(`${t.toFixed(0)} s: ${JSON.stringify(r)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const gaps = (await page.evaluate(() => window.__gaps)).slice(2);
  const maxGap = Math.max(...gaps.map((g) => g[0]));
  const longTasks = (await page.evaluate(() => window.__long))
    .map(([d, t]) => `${d.toFixed(0)} ms at ${((t - clickedAt) / 1000).toFixed(1)} s`);
  const worst = [...gaps].sort((a, b) => b[0] - a[0]).slice(0, 5)
    .map(([gap, t]) => `${gap.toFixed(0)} ms at ${((t - clickedAt) / 1000).toFixed(1)} s`);
  const finalHeatmaps = await page.textContent("[data-testid=heatmaps]").catch(() => "(no badge)");
  // The badge's plain words say "plain canvas"; why (e.g. a lost device) is its hover title.
  const finalWhy = (await page.getAttribute("[data-testid=heatmaps]", "title").catch(() => null)) ?? "";
  // Colours on each field canvas. A WebGPU canvas cannot be read back here, and headless
  // Chromium on SwiftShader leaves it blank in screenshots too (so does a ten-line page that
  // clears one to orange): the shader's pixels are checked on Vulkan (web/tests/heatmap.rs).
  const pictures = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll("canvas[id^=field-], canvas[id^=deriv-]")].map((c) => {
      const probe = document.createElement("canvas");
      if (c.getContext("2d") === null) return [c.id, "webgpu"];
      probe.width = c.width; probe.height = c.height;
      const ctx = probe.getContext("2d");
      ctx.drawImage(c, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return [c.id, colours.size];
    })));
  const shot = path.join(out, `demo-${mode}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  const sizes = Object.fromEntries(fs.readdirSync(dist).filter((f) => f.endsWith(".wasm"))
    .map((f) => [f, fs.statSync(path.join(dist, f)).size]));
  const result = {
    mode, backend, heatmaps, heatmaps_at_end: finalHeatmaps, heatmaps_at_end_why: finalWhy, field_colours: pictures, seconds, mollifier_reached_0_9_after_s: reached,
    panels: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { ...v, steps_per_s: v.step / seconds }])),
    max_frame_gap_ms: maxGap, worst_gaps: worst, long_tasks: longTasks, frames: gaps.length, screenshot: shot, wasm_bytes: sizes, page_errors: errors,
  };
  fs.writeFileSync(path.join(out, `demo-${mode}.json`), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));

  // SwiftShader emulates the GPU on the CPU: there the run is a measurement, and each panel
  // only has to make progress.
  const minSteps = webgpu ? 3 : 50;
  for (const [name, p] of Object.entries(r)) {
    if (p.error) fail(`${name} panel shows an error: ${p.error}`);
    if (!(p.step >= minSteps)) fail(`${name} panel took ${p.step} steps (< ${minSteps}) in ${seconds.toFixed(0)} s`);
    if (!(p.correlation >= -1 && p.correlation <= 1)) fail(`${name} correlation ${p.correlation}`);
    if (Number(p.shown) !== Number(p.shown)) fail(`${name} shows '${p.shown}', not a number`);
  }
  for (const [id, colours] of Object.entries(pictures)) {
    // An engine's ∇²T is drawn on the truth's colour scale (−20 to −7 on heat), and on
    // SwiftShader a panel takes only a few steps: a network three steps from its start, with
    // heat's Fourier features to 3, curves far less than that and draws in one end colour
    // (2026-12-03: 1 colour each after 3 steps). The CPU run checks it after ≥ 50 steps.
    const early = webgpu && /^deriv-\d/.test(id);
    if (colours !== "webgpu" && !early && !(colours >= 10)) fail(`${id} shows ${colours} colours: not a field`);
  }
  // Heat names ∇²T: each panel and the truth show it, and each engine's is scored.
  for (const id of ["deriv-0", "deriv-1", "deriv-truth"]) {
    if (!(id in pictures)) fail(`no ${id} canvas: the derivative the residual uses is not shown`);
  }
  for (const [name, p] of Object.entries(r)) {
    const c = p.derivativeCorrelation;
    if (!(c >= -1 && c <= 1)) fail(`${name} ∇²T correlation ${c}`);
  }
  // The page took the shader path; where SwiftShader then loses the device, it must say so
  // and go on drawing on plain canvases (checked just above).
  if (shader && !/WGSL shader/.test(finalHeatmaps) && !/device lost/.test(finalWhy)) {
    fail(`shader path not taken: ${finalHeatmaps} (${finalWhy})`);
  }
  if (!webgpu && !(r.mollifier.correlation > r.autodiff.correlation)) {
    fail(`mollifier ${r.mollifier.correlation} is not above autodiff ${r.autodiff.correlation}`);
  }
  if (!webgpu && !(reached !== null && reached <= limit)) {
    fail(`mollifier correlation reached 0.9 after ${reached ?? "more than " + seconds.toFixed(0)} s (limit ${limit} s)`);
  }
  if (!(maxGap < 200)) fail(`main thread stalled: longest frame gap ${maxGap.toFixed(0)} ms`);
  if (errors.length) fail(`page errors: ${errors.join(" | ")}`);

  // The page as a learner opens it, no parameters (the quick demo of `mollify compare`: 5 %
  // noise): within a minute the derivative panels must differ measurably, at equal wall time.
  if (mode === "cpu") {
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await fresh.goto(base);
    await fresh.click("[data-testid=start]");
    await fresh.waitForSelector("[data-testid=panel-mollifier]", { timeout: 60_000 });
    // The largest gap within the minute: the mollifier's ∇²T converges while autodiff's lags,
    // and the gap closes later, sooner on a faster machine; its peak is the visible difference.
    const t0 = Date.now();
    let best = null;
    while (Date.now() - t0 < 60_000) {
      await fresh.waitForTimeout(1000);
      const d = await readouts(fresh);
      const [m, a] = [d.mollifier?.derivativeCorrelation, d.autodiff?.derivativeCorrelation];
      // Counted once the mollifier's ∇²T resembles the truth's, not while both are far off.
      if (m == null || a == null || m < 0.8) continue;
      if (best === null || m - a > best.gap) best = { gap: m - a, seconds: (Date.now() - t0) / 1000, d };
      if (best.gap >= DEFAULT_GAP) break;
    }
    const shot = path.join(out, "default-page.png");
    await fresh.screenshot({ path: shot, fullPage: true });
    const summary = best && Object.fromEntries(Object.entries(best.d).map(([k, v]) =>
      [k, { step: v.step, correlation: v.correlation, derivative_correlation: v.derivativeCorrelation }]));
    const report = { seconds: best?.seconds, gap: best?.gap, panels: summary, screenshot: shot };
    fs.writeFileSync(path.join(out, "default-page.json"), JSON.stringify(report, null, 2));
    console.log(`default page: ${JSON.stringify(report)}`);
    if (!(best?.gap >= DEFAULT_GAP)) {
      fail(`default page: the ∇²T correlations never differed by ${DEFAULT_GAP} with the mollifier's ≥ 0.8 within 60 s (largest gap ${best?.gap})`);
    }
  }

  // The lessons, from the strip's own links: each opens with its note, trains, and is
  // photographed; an embedded one (controls=0) keeps only the buttons.
  if (mode === "cpu") {
    const strip = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await strip.goto(base);
    await strip.waitForSelector("[data-testid=lessons]");
    const links = await strip.$$eval("[data-testid^=lesson-]", (as) => as.map((a) => [a.dataset.testid, a.getAttribute("href")]));
    await strip.close();
    if (links.length < 4) fail(`lesson strip shows ${links.length} links`);
    const lessons = {};
    for (const [id, href] of links) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(new URL(href, base).href);
      await page.waitForSelector("[data-testid=start]");
      const note = await page.textContent("[data-testid=lesson]").catch(() => null);
      if (!note || !note.startsWith("Try:")) fail(`${id}: no lesson note (got ${note})`);
      const problem = await page.$eval("[data-testid=problem]", (s) => s.value);
      if (!href.includes(`problem=${problem}`)) fail(`${id}: link ${href} opened problem ${problem}`);
      await page.click("[data-testid=start]");
      const t0 = Date.now();
      let l;
      do {
        await page.waitForTimeout(1000);
        l = await readouts(page);
        // 15 s, long enough for the screenshot to show the lesson's point.
      } while (!(l.autodiff?.step >= 3 && l.mollifier?.step >= 3 && Date.now() - t0 >= 15_000) && Date.now() - t0 < 60_000);
      const shot = path.join(out, `${id}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      lessons[id] = { href, problem, seconds: (Date.now() - t0) / 1000, screenshot: shot,
        panels: Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { step: v.step, correlation: v.correlation, derivative_correlation: v.derivativeCorrelation, error: v.error }])) };
      for (const [name, p] of Object.entries(l)) {
        if (p.error) fail(`${id}: ${name} panel shows an error: ${p.error}`);
        if (!(p.step >= 3)) fail(`${id}: ${name} panel took ${p.step} steps in 60 s`);
      }
      await page.close();
    }
    const embed = await browser.newPage();
    await embed.goto(new URL(`${links[0][1]}&controls=0`, base).href);
    await embed.waitForSelector("[data-testid=start]");
    if (await embed.isVisible("[data-testid=problem]")) fail("controls=0 still shows the settings");
    if (await embed.isVisible("[data-testid=lessons]")) fail("controls=0 still shows the lesson strip");
    await embed.close();
    fs.writeFileSync(path.join(out, "lessons.json"), JSON.stringify(lessons, null, 2));
    console.log(`lessons: ${JSON.stringify(lessons)}`);
  }
  console.log(`PASS (${mode})`);
} finally {
  await browser.close();
  server.close();
}
