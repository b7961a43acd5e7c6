// Scoreganizer app: countdowns, copying the key, live updates, dropped replays.
// Plain script, no library; the pages work without it (forms post and reload).
"use strict";

(function () {
  function pad(n) { return String(n).padStart(2, "0"); }

  function duration(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(s / 86400); s -= days * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var text = h + ":" + pad(Math.floor(s / 60)) + ":" + pad(s % 60);
    return days ? days + " d " + text : text;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-until]").forEach(function (el) {
      var left = Number(el.dataset.until) - now;
      el.textContent = duration(left);
      if (left <= 0 && el.dataset.atZero === "reload" && !el.dataset.done) {
        el.dataset.done = "1";
        setTimeout(function () { location.reload(); }, 1500);
      }
    });
  }

  function copyKey(button) {
    var source = document.querySelector(button.dataset.copy);
    var status = button.parentElement.querySelector(".copied");
    var text = source ? source.textContent.trim() : "";
    function done(ok) { if (status) status.textContent = ok ? "Copied" : "Select the key and copy it"; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      done(document.execCommand("copy"));
    }
  }

  function apply(message) {
    if (message.kind === "entry") {
      var feed = document.getElementById("feed");
      if (!feed) return;
      var holder = document.createElement("template");
      holder.innerHTML = message.html.trim();
      var entry = holder.content.firstElementChild;
      entry.classList.add("fresh");
      var old = document.getElementById(message.id);
      if (old) old.replaceWith(entry); else feed.prepend(entry);
      var empty = document.getElementById("feed-empty");
      if (empty) empty.hidden = true;
    } else if (message.kind === "section") {
      var section = document.getElementById(message.id);
      if (section) section.innerHTML = message.html;
      tick();
    }
  }

  function listen(page) {
    var source = new EventSource(page.dataset.events);
    source.onmessage = function (event) { apply(JSON.parse(event.data)); };
  }

  function upload(zone, files) {
    Array.prototype.forEach.call(files, function (file) {
      fetch(zone.dataset.upload, {
        method: "POST",
        body: file,
        headers: { "X-File-Name": encodeURIComponent(file.name), "Content-Type": "application/octet-stream" },
        credentials: "same-origin",
      });
    });
  }

  function dropZone(zone) {
    var page = document.documentElement;
    page.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
    page.addEventListener("dragleave", function (event) {
      if (!event.relatedTarget) zone.classList.remove("over");
    });
    page.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) upload(zone, event.dataTransfer.files);
    });
    var input = document.getElementById("files");
    if (input) input.addEventListener("change", function () { upload(zone, input.files); input.value = ""; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) copyKey(button);
  });

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 250);
    var page = document.querySelector("[data-events]");
    if (page) listen(page);
    var zone = document.getElementById("drop");
    if (zone) dropZone(zone);
    var stale = document.querySelector("[data-reload-every]");
    if (stale) setTimeout(function () { location.reload(); }, Number(stale.dataset.reloadEvery) * 1000);
  });
})();
