// Scoreganizer app: countdowns, copying the key, live updates, dropped replays.
// Plain script, no library; the pages work without it (forms post and reload).
"use strict";

(function () {
  var MAX_ENTRIES = 500; // as many as the app keeps
  var REPLAY = /\.(rmv|avf|evf)$/i;

  function pad(n) { return String(n).padStart(2, "0"); }

  function duration(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(s / 86400); s -= days * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var text = h + ":" + pad(Math.floor(s / 60)) + ":" + pad(s % 60);
    return days ? days + " d " + text : text;
  }

  // A countdown at zero: "reload" reloads the page (a list that changes),
  // "next" shows what comes after it (the element after its wrapper).
  function atZero(el) {
    if (el.dataset.done) return;
    el.dataset.done = "1";
    if (el.dataset.atZero === "reload") {
      setTimeout(function () { location.reload(); }, 1500);
    } else if (el.dataset.atZero === "next") {
      var wrap = el.closest(".countdown-wrap");
      var next = wrap && wrap.nextElementSibling;
      if (next) { wrap.hidden = true; next.hidden = false; }
    }
  }

  function ago(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    if (m < 48 * 60) return Math.floor(m / 60) + " h " + (m % 60) + " min";
    return Math.floor(m / 1440) + " d";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-until]").forEach(function (el) {
      var left = Number(el.dataset.until) - now;
      el.textContent = duration(left);
      if (left <= 0) atZero(el);
    });
    document.querySelectorAll("time[data-since]").forEach(function (el) {
      el.textContent = ago(now - Number(el.dataset.since));
    });
  }

  function say(id, text) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  // Says "Copied" beside the button, then fades it out.
  function copied(status, text) {
    if (!status) return;
    clearTimeout(status.fading);
    status.classList.remove("faded");
    status.textContent = text;
    status.fading = setTimeout(function () {
      status.classList.add("faded");
      status.fading = setTimeout(function () { status.textContent = ""; status.classList.remove("faded"); }, 600);
    }, 2000);
  }

  function copyText(button) {
    var source = document.querySelector(button.dataset.copy);
    var status = button.parentElement.querySelector(".copied");
    var text = source ? source.textContent.trim() : "";
    function done(ok) { copied(status, ok ? "Copied" : "Select the text and copy it"); }
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

  // What the player is typing survives a section that is drawn again.
  function keepTyping(section, html) {
    var typed = {};
    section.querySelectorAll("input[id]").forEach(function (input) {
      if (input.value !== input.defaultValue) typed[input.id] = input.value;
    });
    var focused = document.activeElement && section.contains(document.activeElement)
      ? document.activeElement.id : null;
    section.innerHTML = html;
    Object.keys(typed).forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.value = typed[id];
    });
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  }

  function entryOf(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  // One catch-up from the app: the sections drawn again, and the feed
  // entries recorded since the page last heard (oldest first; an entry
  // recorded again moves to the top). "reset": the feed is drawn whole.
  function apply(message) {
    message.sections.forEach(function (part) {
      var section = document.getElementById(part.id);
      if (section) keepTyping(section, part.html);
    });
    var feed = document.getElementById("feed");
    if (feed) {
      if (message.reset) feed.textContent = "";
      message.entries.forEach(function (part) {
        var entry = entryOf(part.html);
        var old = document.getElementById(part.id);
        if (old) old.remove();
        if (!message.reset) entry.classList.add("fresh");
        feed.prepend(entry);
      });
      while (feed.children.length > MAX_ENTRIES) feed.lastElementChild.remove();
    }
    tick();
  }

  // The app sends what changed since the version the page was drawn at,
  // and, after a reconnection, since the last catch-up it sent (the
  // browser says which): nothing is missed, whatever the timing.
  function listen(page) {
    var source = new EventSource(page.dataset.events);
    source.onmessage = function (event) {
      apply(JSON.parse(event.data));
    };
    source.onopen = function () { say("lost", ""); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        say("lost", "This page no longer reaches the app (it was stopped or started again). " +
          "Start the app again if needed, and open the address it shows.");
      } else {
        say("lost", "The app does not answer; trying again…");
      }
    };
  }

  function isFolder(item) {
    var entry = item && item.webkitGetAsEntry && item.webkitGetAsEntry();
    return Boolean(entry && entry.isDirectory);
  }

  // One file at a time: dropping a thousand files never sends them all at once.
  function upload(zone, files, source) {
    var queue = Array.prototype.slice.call(files);
    var problems = [];
    function next() {
      var file = queue.shift();
      if (!file) { say("drop-status", problems.join(" ")); return; }
      // A file that is no replay is named, not sent (the app refuses it all the same).
      var body = REPLAY.test(file.name) ? file : new Blob([]);
      fetch(zone.dataset.upload, {
        method: "POST",
        body: body,
        headers: {
          "X-File-Name": encodeURIComponent(file.name),
          "X-Source": source,
          "Content-Type": "application/octet-stream",
        },
        credentials: "same-origin",
      }).then(function (answer) {
        if (answer.ok || answer.status === 413) return; // the verdict is in the feed
        return answer.json().then(function (data) {
          problems.push(file.name + ": " + (data.error || "not sent") + ".");
        }, function () {
          problems.push(file.name + ": the app refused it (" + answer.status + "); reload the page.");
        });
      }, function () {
        problems.push(file.name + ": not sent, the app does not answer.");
      }).then(next);
    }
    say("drop-status", queue.length > 1 ? "Sending " + queue.length + " files…" : "");
    next();
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
      var transfer = event.dataTransfer;
      if (!transfer || !transfer.files.length) return;
      var files = Array.prototype.filter.call(transfer.files, function (file, i) {
        return !isFolder(transfer.items && transfer.items[i]);
      });
      if (files.length < transfer.files.length) {
        say("drop-status", "A folder cannot be dropped: drop the replay files, or watch the folder above.");
      }
      if (files.length) upload(zone, files, "dropped");
    });
    var input = document.getElementById("files");
    if (input) input.addEventListener("change", function () { upload(zone, input.files, "picked"); input.value = ""; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) copyText(button);
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
