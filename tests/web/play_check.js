// Watches an already processed video upload in Debian's headless Chromium with playwright-core: log in,
// open the upload's detail page, play the HLS stream, fetch the poster, read the subtitle tracks.
// It measures and reports; the caller judges. Prints one JSON line on stdout:
//   { detailUrl, stages, player: { hlsJs, duration, playedFrom, playedTo, subtitleTracks, subtitleNames },
//     poster: { url, status, contentType, bytes }, content: { shown: { language, label, firstCue },
//     subtitleLanguages, transcript, speakers, analysis, translation: { lang, text } }, failures: [...], problems: [...] }
// `failures` are checks that could not be made (timeouts, missing elements); `problems` are console
// errors, page errors and HTTP responses >= 400 seen on the way. Exits 1 when either is non-empty.
//
// Environment: BASE_URL, USERNAME, PASSWORD; DETAIL_PATH (e.g. /uploads/1/; default: the first upload
// on the list at /); CHROMIUM (default /usr/bin/chromium); SCREENSHOT (optional path);
// FINISH_TIMEOUT_MS (default 60000: how long the detail page may still be processing).
"use strict";

const { launch, recordProblems } = require("./chromium");

const env = process.env;
const BASE_URL = env.BASE_URL.replace(/\/$/, "");
const FINISH_TIMEOUT_MS = Number(env.FINISH_TIMEOUT_MS || 60000);

function log(message) {
  process.stderr.write(`[play_check] ${message}\n`);
}

async function logIn(page) {
  await page.goto(`${BASE_URL}/accounts/login/`);
  await page.fill("#id_username", env.USERNAME);
  await page.fill("#id_password", env.PASSWORD);
  await Promise.all([page.waitForURL(`${BASE_URL}/`), page.click('#login-form button[type="submit"]')]);
}

async function openDetail(page) {
  if (env.DETAIL_PATH) {
    await page.goto(`${BASE_URL}${env.DETAIL_PATH}`);
  } else {
    const link = page.locator('table.uploads tbody tr a[href^="/uploads/"]').first();
    await Promise.all([page.waitForURL(/\/uploads\/\d+\/$/), link.click()]);
  }
  await page.waitForSelector('#pipeline-state[data-finished="true"]', { timeout: FINISH_TIMEOUT_MS });
  return page.$$eval("[data-stage]", (rows) =>
    Object.fromEntries(rows.map((row) => [row.dataset.stage, row.querySelector('[data-role="badge"]').textContent.trim()])),
  );
}

// Runs one measurement; a failure is recorded and the next measurement still runs.
async function measure(failures, name, fn) {
  try {
    return await fn();
  } catch (err) {
    failures.push(`${name}: ${err.message.split("\n")[0]}`);
    return null;
  }
}

async function checkPlayer(page, failures) {
  const player = { hlsJs: false, duration: null, playedFrom: null, playedTo: null, subtitleTracks: 0, subtitleNames: [] };
  const ready = await measure(failures, "player ready", () =>
    page.waitForFunction(
      () => {
        const video = document.getElementById("player");
        return video && !video.hidden && video.readyState >= 1 && video.duration > 0;
      },
      null,
      { timeout: 30000 },
    ),
  );
  // hls.js lists the master playlist's SUBTITLES rendition; native HLS would make it a text track.
  const subtitles = () => {
    const video = document.getElementById("player");
    const tracks = window.hlsPlayer ? window.hlsPlayer.subtitleTracks : Array.from(video.textTracks);
    return { hlsJs: Boolean(window.hlsPlayer), count: tracks.length, names: tracks.map((t) => t.name || t.label || t.lang) };
  };
  await measure(failures, "subtitle tracks", () =>
    page.waitForFunction(
      () => {
        const video = document.getElementById("player");
        return (window.hlsPlayer ? window.hlsPlayer.subtitleTracks.length : video.textTracks.length) >= 1;
      },
      null,
      { timeout: 30000 },
    ),
  );
  const found = await page.evaluate(subtitles);
  Object.assign(player, { hlsJs: found.hlsJs, subtitleTracks: found.count, subtitleNames: found.names });
  if (ready !== null) {
    player.playedFrom = await page.evaluate(async () => {
      const video = document.getElementById("player");
      video.muted = true;
      window.playStartedAt = video.currentTime;
      await video.play();
      return window.playStartedAt;
    });
    await measure(failures, "playback", () =>
      page.waitForFunction(() => document.getElementById("player").currentTime > window.playStartedAt + 0.5, null, {
        timeout: 30000,
      }),
    );
  }
  Object.assign(
    player,
    await page.evaluate(() => {
      const video = document.getElementById("player");
      return { duration: video.duration || null, playedTo: video.currentTime };
    }),
  );
  return player;
}

// The track the player shows, once its cues have loaded, and what the page says in which language.
// Reported, not judged: callers that care assert on them (null when nothing loaded in 15 s).
async function readSubtitlesAndText(page) {
  const shown = await page
    .waitForFunction(
      () => {
        const track = Array.from(document.getElementById("player").textTracks).find((t) => t.mode === "showing");
        return track && track.cues && track.cues.length ? { language: track.language, label: track.label, firstCue: track.cues[0].text } : null;
      },
      null,
      { timeout: 15000 },
    )
    .then((handle) => handle.jsonValue())
    .catch(() => null);
  const text = await page.evaluate(() => {
    const section = (id) => {
      const node = document.getElementById(id);
      return node ? { lang: node.getAttribute("lang"), text: node.innerText.slice(0, 2000) } : null;
    };
    const tracks = window.hlsPlayer ? window.hlsPlayer.subtitleTracks : [];
    return {
      subtitleLanguages: tracks.map((t) => t.lang),
      transcript: section("transcript"),
      speakers: section("speakers"),
      analysis: section("analysis"),
      translation: section("translation"),
    };
  });
  return { shown, ...text };
}

async function checkPoster(page, failures) {
  return measure(failures, "poster", () =>
    page.evaluate(async () => {
      const url = document.getElementById("player").getAttribute("poster");
      if (!url) throw new Error("the player has no poster attribute");
      const response = await fetch(url);
      const body = await response.arrayBuffer();
      return { url, status: response.status, contentType: response.headers.get("content-type"), bytes: body.byteLength };
    }),
  );
}

async function main() {
  const { context, close } = await launch(env.CHROMIUM);
  const problems = [];
  const failures = [];
  let exitCode = 0;
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(30000);
    recordProblems(page, problems);

    await logIn(page);
    log("logged in");
    const stages = await openDetail(page);
    const detailUrl = page.url();
    log(`detail page ${detailUrl}; stages ${JSON.stringify(stages)}`);
    const player = await checkPlayer(page, failures);
    log(`player: ${JSON.stringify(player)}`);
    const poster = await checkPoster(page, failures);
    log(`poster: ${JSON.stringify(poster)}`);
    const content = await readSubtitlesAndText(page);
    log(`shown subtitles: ${JSON.stringify(content.shown)}`);
    if (env.SCREENSHOT) await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
    process.stdout.write(JSON.stringify({ detailUrl, stages, player, poster, content, failures, problems }) + "\n");
    if (failures.length || problems.length) exitCode = 1;
  } catch (err) {
    const page = context.pages()[0];
    if (page && env.SCREENSHOT) await page.screenshot({ path: env.SCREENSHOT, fullPage: true }).catch(() => {});
    throw new Error(`${err.message}\nbrowser problems: ${JSON.stringify(problems)}`);
  } finally {
    await close();
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[play_check] FAILED: ${err.stack || err}\n`);
    process.exit(2);
  },
);
