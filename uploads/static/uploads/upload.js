// The upload page: send the file with XMLHttpRequest so the user sees its progress and the
// server's refusal (size, type) without a reload. Without JS the form posts as usual.
(function () {
  "use strict";

  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;

  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('button[type="submit"]');
  const errorBox = document.getElementById("upload-error");
  const progressBox = document.getElementById("upload-progress-box");
  const progress = document.getElementById("upload-progress");
  const progressLabel = document.getElementById("upload-progress-label");
  const maxBytes = Number(form.dataset.maxBytes || 0);

  function megabytes(size) {
    return (size / 1024 / 1024).toFixed(1) + " MB";
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function setBusy(busy) {
    button.disabled = busy;
    input.disabled = busy;
    progressBox.hidden = !busy;
  }

  function setProgress(percent) {
    progress.value = percent;
    progressLabel.textContent = Math.round(percent) + "%";
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (err) {
      return null;
    }
  }

  function onLoad(xhr) {
    const data = parseJson(xhr.responseText);
    if (xhr.status === 201 && data && data.url) {
      setProgress(100);
      window.location.assign(data.url);
      return;
    }
    setBusy(false);
    const fallback = xhr.status === 413 ? "The file is too large." : "The upload failed (HTTP " + xhr.status + ").";
    showError((data && data.error) || fallback);
  }

  function send(file) {
    const body = new FormData(form); // read before setBusy disables the input
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) setProgress((event.loaded / event.total) * 100);
    };
    xhr.onload = function () {
      onLoad(xhr);
    };
    xhr.onerror = function () {
      setBusy(false);
      showError("The upload of " + file.name + " failed: the connection was lost. Try again.");
    };
    setProgress(0);
    setBusy(true);
    xhr.send(body);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    const file = input.files && input.files[0];
    if (!file) {
      showError("Choose an audio or video file first.");
      return;
    }
    if (file.size === 0) {
      showError("The file is empty (0 bytes).");
      return;
    }
    if (maxBytes && file.size > maxBytes) {
      showError("The file is " + megabytes(file.size) + "; the limit is " + megabytes(maxBytes) + ".");
      return;
    }
    send(file);
  });
})();
