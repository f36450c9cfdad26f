// What the browser drivers (browser_check.js, play_check.js) share: Debian's headless Chromium
// launched through playwright-core with a throwaway profile, and the record of what went wrong on a page.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

// The machine has no network: without the background-networking flags Chromium keeps dialling out.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

// A persistent context in a new profile folder; close() closes it and removes the folder.
async function launch(executablePath) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: executablePath || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const close = async () => {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

// Console errors, page errors and HTTP responses >= 400 seen on `page` are pushed to `problems`.
function recordProblems(page, problems) {
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console: ${msg.text()}`));
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("response", (res) => res.status() >= 400 && problems.push(`HTTP ${res.status()} ${res.url()}`));
}

module.exports = { CHROMIUM_ARGS, launch, recordProblems };
