// Drives Debian's headless Chromium through the site with playwright-core, for tests/web/test_browser.py:
// log in, see a bad file refused on the upload page, upload the video, wait on its detail page until
// every stage has finished, then play the HLS stream, check its subtitle track and seek from the
// transcript. Prints one JSON line of measurements on stdout; exits 1 with the reason on failure.
//
// Environment: BASE_URL, USERNAME, PASSWORD, VIDEO (path), BAD_FILE (path of a non-media file),
// SCREENSHOT (path), CHROMIUM (default /usr/bin/chromium), FINISH_TIMEOUT_MS (default 240000).
"use strict";

const path = require("path");
const { launch, recordProblems } = require("./chromium");

const env = process.env;
const BASE_URL = env.BASE_URL.replace(/\/$/, "");
const FINISH_TIMEOUT_MS = Number(env.FINISH_TIMEOUT_MS || 240000);

// Extra screenshots go next to SCREENSHOT: the detail page while processing, and the list.
function sibling(name) {
  return path.join(path.dirname(env.SCREENSHOT), name);
}

function log(message) {
  process.stderr.write(`[browser_check] ${message}\n`);
}

async function logIn(page) {
  await page.goto(`${BASE_URL}/upload/`);
  if (!new URL(page.url()).pathname.startsWith("/accounts/login/")) {
    throw new Error(`/upload/ did not redirect to the login page but to ${page.url()}`);
  }
  await page.fill("#id_username", env.USERNAME);
  await page.fill("#id_password", env.PASSWORD);
  await Promise.all([page.waitForURL(`${BASE_URL}/upload/`), page.click('#login-form button[type="submit"]')]);
}

async function badFileIsRefusedInPlace(page) {
  await page.setInputFiles("#upload-form input[type=file]", env.BAD_FILE);
  await page.click('#upload-form button[type="submit"]');
  const error = page.locator("#upload-error");
  await error.waitFor({ state: "visible", timeout: 30000 });
  const text = await error.textContent();
  if (!/Not an audio or video file/.test(text)) throw new Error(`unexpected upload error text: ${text}`);
  if (new URL(page.url()).pathname !== "/upload/") throw new Error(`the page changed to ${page.url()}`);
  return text.trim();
}

async function uploadVideo(page) {
  // Keep the progress bar's values (upload.onprogress drives it) in sessionStorage: it outlives the
  // navigation to the detail page.
  await page.evaluate(() => {
    const label = document.getElementById("upload-progress-label");
    sessionStorage.setItem("progressSeen", "[]");
    new MutationObserver(() => {
      const seen = JSON.parse(sessionStorage.getItem("progressSeen"));
      seen.push(label.textContent);
      sessionStorage.setItem("progressSeen", JSON.stringify(seen));
    }).observe(label, { childList: true, characterData: true, subtree: true });
  });
  await page.setInputFiles("#upload-form input[type=file]", env.VIDEO);
  await Promise.all([
    page.waitForURL(/\/uploads\/\d+\/$/, { timeout: 120000 }),
    page.click('#upload-form button[type="submit"]'),
  ]);
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("progressSeen") || "[]"));
}

async function waitUntilFinished(page) {
  await page.waitForSelector('#pipeline-state[data-finished="true"]', { timeout: FINISH_TIMEOUT_MS });
  const stages = await page.$$eval("[data-stage]", (rows) =>
    Object.fromEntries(rows.map((row) => [row.dataset.stage, row.querySelector('[data-role="badge"]').textContent.trim()])),
  );
  log(`stages on the page: ${JSON.stringify(stages)}`);
  for (const [stage, status] of Object.entries(stages)) {
    if (status !== "succeeded") throw new Error(`stage ${stage} ended ${status}: ${JSON.stringify(stages)}`);
  }
  // The results section is swapped in by detail.js once transcription and analysis end.
  await page.waitForSelector("#transcript [data-seek]", { timeout: 30000 });
  await page.waitForSelector("#analysis [data-seek]", { timeout: 30000 });
  return stages;
}

async function checkPlayer(page) {
  await page.waitForFunction(
    () => {
      const video = document.getElementById("player");
      return !video.hidden && video.readyState >= 1 && video.duration > 0;
    },
    null,
    { timeout: 30000 },
  );
  const player = await page.evaluate(() => ({
    hlsJs: Boolean(window.hlsPlayer),
    poster: document.getElementById("player").getAttribute("poster"),
  }));
  // hls.js lists the master playlist's SUBTITLES rendition; native HLS makes it a text track.
  await page.waitForFunction(
    () => {
      const video = document.getElementById("player");
      const tracks = window.hlsPlayer ? window.hlsPlayer.subtitleTracks.length : video.textTracks.length;
      return tracks >= 1;
    },
    null,
    { timeout: 30000 },
  );
  await page.evaluate(async () => {
    const video = document.getElementById("player");
    video.muted = true;
    window.playStartedAt = video.currentTime;
    await video.play();
  });
  await page.waitForFunction(
    () => document.getElementById("player").currentTime > window.playStartedAt + 0.5,
    null,
    { timeout: 30000 },
  );
  return page.evaluate((p) => {
    const video = document.getElementById("player");
    const tracks = Array.from(video.textTracks);
    return {
      ...p,
      duration: video.duration,
      playedFrom: window.playStartedAt,
      playedTo: video.currentTime,
      subtitleTracks: window.hlsPlayer ? window.hlsPlayer.subtitleTracks.length : tracks.length,
      subtitleTrackSelected: window.hlsPlayer ? window.hlsPlayer.subtitleTrack : null,
      textTracks: tracks.map((t) => ({ kind: t.kind, label: t.label, mode: t.mode, cues: t.cues ? t.cues.length : null })),
    };
  }, player);
}

async function checkSeek(page) {
  // The last transcript segment: far from where playback is now.
  const button = page.locator("#transcript [data-seek]").last();
  const target = Number(await button.getAttribute("data-seek"));
  await page.evaluate(() => document.getElementById("player").pause());
  await button.click();
  await page.waitForFunction(
    (t) => {
      const video = document.getElementById("player");
      return !video.seeking && Math.abs(video.currentTime - t) < 1.0;
    },
    target,
    { timeout: 15000, polling: 50 },
  );
  const after = await page.evaluate(() => document.getElementById("player").currentTime);
  return { target, after };
}

async function main() {
  const { context, close } = await launch(env.CHROMIUM);
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(30000);
    recordProblems(page, problems);

    await logIn(page);
    log("logged in");
    const refusal = await badFileIsRefusedInPlace(page);
    log(`bad file refused in place: ${refusal}`);
    problems.length = 0; // the refusal's 400 was expected
    const progress = await uploadVideo(page);
    const detailUrl = page.url();
    log(`uploaded; detail page ${detailUrl}; progress values seen ${JSON.stringify(progress)}`);
    await page.screenshot({ path: sibling("browser-processing.png") });
    const stages = await waitUntilFinished(page);
    const player = await checkPlayer(page);
    log(`player: ${JSON.stringify(player)}`);
    const seek = await checkSeek(page);
    log(`seek: ${JSON.stringify(seek)}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
    await page.goto(`${BASE_URL}/`);
    await page.screenshot({ path: sibling("browser-list.png") });
    const result = { detailUrl, refusal, progress, stages, player, seek, problems };
    process.stdout.write(JSON.stringify(result) + "\n");
  } catch (err) {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: env.SCREENSHOT, fullPage: true }).catch(() => {});
    throw new Error(`${err.message}\nbrowser problems: ${JSON.stringify(problems)}`);
  } finally {
    await close();
  }
}

main().catch((err) => {
  process.stderr.write(`[browser_check] FAILED: ${err.stack || err}\n`);
  process.exit(1);
});
