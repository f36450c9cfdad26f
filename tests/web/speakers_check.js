// Speakers in the browser: the detail page's filter by speaker, a rename through its form, and the
// renamed speaker in the transcript, the analysis and the player's subtitle cues (WebVTT voice spans).
// Env: BASE_URL, USERNAME, PASSWORD, DETAIL_PATH, LABEL (the speaker to rename), NAME, CHROMIUM.
// Prints one JSON line: { before, filtered, after, cues, problems }.
"use strict";

const { launch, recordProblems } = require("./chromium");

const env = process.env;

async function linesOf(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("#transcript li")).map((li) => ({
      speaker: li.dataset.speaker || "",
      name: (li.querySelector('[data-role="speaker"]') || {}).textContent || "",
      visible: !li.hidden && li.offsetParent !== null,
    })),
  );
}

async function cuesOf(page) {
  // The player's shown track, once its cues have loaded: every cue's text as the browser parsed it.
  return page
    .waitForFunction(
      () => {
        const track = Array.from(document.getElementById("player").textTracks).find((t) => t.mode === "showing");
        return track && track.cues && track.cues.length ? Array.from(track.cues).map((c) => c.text) : null;
      },
      null,
      { timeout: 30000 },
    )
    .then((handle) => handle.jsonValue())
    .catch(() => null);
}

(async () => {
  const { context, close } = await launch(env.CHROMIUM);
  const problems = [];
  try {
    const page = await context.newPage();
    recordProblems(page, problems);
    await page.goto(`${env.BASE_URL}/accounts/login/`);
    await page.fill("#id_username", env.USERNAME);
    await page.fill("#id_password", env.PASSWORD);
    await Promise.all([page.waitForURL(`${env.BASE_URL}/`), page.click('#login-form button[type="submit"]')]);
    await page.goto(`${env.BASE_URL}${env.DETAIL_PATH}`);
    const before = await linesOf(page);

    await page.selectOption("#speaker-filter", env.LABEL);
    const filtered = await linesOf(page);
    await page.selectOption("#speaker-filter", "");

    await page.fill(`#name-${env.LABEL}`, env.NAME);
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-speaker="${env.LABEL}"] button[type="submit"]`)]);
    const after = await linesOf(page);
    const analysis = await page.evaluate(() => document.getElementById("analysis").innerText);
    const speakers = await page.evaluate(() => document.getElementById("speakers").innerText);
    const cues = await cuesOf(page);
    process.stdout.write(JSON.stringify({ before, filtered, after, analysis, speakers, cues, problems }) + "\n");
  } finally {
    await close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
