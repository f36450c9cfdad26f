// The detail page: poll status.json until every stage has ended, refresh the results as stages
// finish, start the HLS player once the HLS stage has succeeded, and seek it from timestamps.
(function () {
  "use strict";

  const root = document.getElementById("upload-detail");
  if (!root) return;

  const TERMINAL = ["succeeded", "failed", "skipped", "cancelled"];
  const POLL_MS = 1000;
  const statusUrl = root.dataset.statusUrl;
  const video = document.getElementById("player");
  const playerMessage = document.getElementById("player-message");
  let state = JSON.parse(document.getElementById("upload-status").textContent);
  let playerStarted = false;

  function isTerminal(stage) {
    return TERMINAL.indexOf(stage.status) !== -1;
  }

  function badgeText(stage) {
    if (stage.status !== "running") return stage.status;
    return stage.status + " " + Math.round(stage.progress) + "%" + (stage.note ? " (" + stage.note + ")" : "");
  }

  function renderStages(status) {
    Object.keys(status.stages).forEach(function (name) {
      const stage = status.stages[name];
      const row = root.querySelector('[data-stage="' + name + '"]');
      if (!row) return;
      const badge = row.querySelector('[data-role="badge"]');
      badge.textContent = badgeText(stage);
      badge.className = "badge badge-" + stage.status;
      row.querySelector('[data-role="progress"]').value = stage.progress;
      const message = row.querySelector('[data-role="error"]');
      message.textContent = stage.error || "";
      message.classList.toggle("error", stage.status === "failed"); // a skip or "no speech found" is no error
    });
    const summary = document.getElementById("pipeline-state");
    summary.dataset.finished = String(status.finished);
    summary.textContent = status.finished ? "All stages finished." : "Processing… this page updates by itself.";
  }

  function showSubtitles(hls) {
    if (hls.subtitleTracks.length && hls.subtitleTrack === -1) hls.subtitleTrack = 0;
    hls.subtitleDisplay = true;
  }

  function startHlsJs(url) {
    const hls = new window.Hls();
    window.hlsPlayer = hls; // the browser test reads its subtitle tracks
    hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, function () {
      showSubtitles(hls);
    });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) return;
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) {
        hls.startLoad();
      } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        hls.destroy();
        playerMessage.textContent = "The stream cannot be played: " + data.details;
        playerMessage.hidden = false;
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }

  function startNative(url) {
    // Safari and iOS play HLS themselves; the subtitle rendition becomes a text track.
    video.textTracks.addEventListener("addtrack", function (event) {
      if (event.track.kind === "subtitles" || event.track.kind === "captions") event.track.mode = "showing";
    });
    video.src = url;
  }

  function startPlayer(status) {
    if (playerStarted || !status.hls_master_url) return;
    if (status.poster_url) video.poster = status.poster_url;
    if (window.Hls && window.Hls.isSupported()) {
      startHlsJs(status.hls_master_url);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      startNative(status.hls_master_url);
    } else {
      playerMessage.textContent = "This browser cannot play HLS streams.";
      return;
    }
    playerStarted = true;
    video.hidden = false;
    playerMessage.hidden = true;
  }

  function explainNoPlayer(status) {
    const hls = status.stages.hls;
    if (!playerStarted && hls && isTerminal(hls) && hls.status !== "succeeded") {
      playerMessage.textContent = "No stream: the HLS stage " + hls.status + (hls.error ? " (" + hls.error + ")" : "") + ".";
    }
  }

  function seek(seconds) {
    if (!playerStarted) return;
    const go = function () {
      video.currentTime = seconds;
      const playing = video.play();
      if (playing) playing.catch(function () {}); // autoplay policy: the user can press play
    };
    if (video.readyState >= 1) go();
    else video.addEventListener("loadedmetadata", go, { once: true });
  }

  async function refreshResults() {
    const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("results");
    const current = document.getElementById("results");
    if (fresh && current) current.replaceWith(document.importNode(fresh, true));
  }

  function newlyFinished(previous, next) {
    return Object.keys(next.stages).filter(function (name) {
      return isTerminal(next.stages[name]) && !(previous.stages[name] && isTerminal(previous.stages[name]));
    });
  }

  function update(next) {
    const finished = newlyFinished(state, next);
    state = next;
    renderStages(next);
    startPlayer(next);
    explainNoPlayer(next);
    if (finished.some(function (name) { return name !== "hls"; })) {
      refreshResults().catch(function () {});
    }
  }

  async function poll() {
    try {
      const response = await fetch(statusUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (response.redirected || response.status === 403 || response.status === 404) return; // logged out or gone
      if (response.ok) {
        update(await response.json());
        if (state.finished) return;
      }
    } catch (err) {
      // a network blip: try again on the next tick
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-seek]");
    if (!button) return;
    const seconds = parseFloat(button.dataset.seek);
    if (Number.isFinite(seconds)) seek(seconds);
  });

  // The transcript filtered to one speaker (the select above it); "" shows everyone. Delegated:
  // the results are replaced as stages finish.
  document.addEventListener("change", function (event) {
    if (!event.target || event.target.id !== "speaker-filter") return;
    const wanted = event.target.value;
    document.querySelectorAll("#transcript li[data-speaker]").forEach(function (item) {
      item.hidden = Boolean(wanted) && item.dataset.speaker !== wanted;
    });
  });

  startPlayer(state);
  explainNoPlayer(state);
  if (!state.finished) window.setTimeout(poll, POLL_MS);
})();
