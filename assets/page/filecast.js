// Filecast's browser page (issue 13): the original dialogue over the server's own HTTP API
// (docs/PROTOCOL.md). Type a name (or tap a listed file), "File exists, N bytes (X MB).
// Download?", Yes starts the browser's own download, No records the decline. No framework,
// no build step; served from /page/ under a Content-Security-Policy without unsafe-inline.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const dialogue = $("dialogue");
  const form = $("ask");
  const field = $("file-name");
  const answer = $("answer");
  const choice = $("choice");
  const person = $("person");
  const NAME_KEY = "filecast-name";
  const POLL_MS = 4000; // how soon a changed offer shows without a reload
  let shown = null; // the file the person was asked about: {name, size, etag, url}
  let offerTag = null; // the offer page's ETag, for asking "changed?" cheaply

  // --- words: as core/wire/units.py and core/wire/sentences.py spell them ----------------

  const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

  function humanSize(count) { // units.human_size: decimal units, one decimal
    if (count < 1000) return `${Math.floor(count)} B`;
    let exponent = Math.min(Math.floor(Math.log(count) / Math.log(1000)), UNITS.length - 1);
    let value = count / 1000 ** exponent;
    if (Math.round(value * 10) / 10 >= 1000 && exponent < UNITS.length - 1) {
      exponent += 1;
      value /= 1000;
    }
    return `${value.toFixed(1)} ${UNITS[exponent]}`;
  }

  function exactBytes(count) { // units.exact_bytes
    return count === 1 ? "1 byte" : `${count.toLocaleString("en-US")} bytes`;
  }

  const quoted = (name) => `'${name}'`;

  // --- who is asking: the name is kept by this browser and sent as a cookie -------------

  function rememberName(name) {
    try { localStorage.setItem(NAME_KEY, name); } catch (e) { /* private mode */ }
    // SameSite=Strict: never sent by another site's page (core/wire/visit.py).
    document.cookie = `filecast_name=${encodeURIComponent(name)}; path=/; SameSite=Strict;` +
      " max-age=31536000";
  }

  function restoreName() {
    let name = "";
    try { name = localStorage.getItem(NAME_KEY) || ""; } catch (e) { /* private mode */ }
    person.value = name;
    if (name) rememberName(name);
  }

  // --- the dialogue ------------------------------------------------------------------

  function fileUrl(name) {
    return "/files/" + name.split("/").map(encodeURIComponent).join("/");
  }

  function say(text) {
    answer.textContent = text;
  }

  function ask(file) {
    shown = file;
    say(`File exists, ${exactBytes(file.size)} (${humanSize(file.size)}). Download?`);
    choice.hidden = false;
    $("yes").focus();
  }

  async function check(name) {
    choice.hidden = true;
    shown = null;
    if (!name) return;
    if (name.split("/").some((part) => part === "." || part === "..")) {
      // Never an offered name (docs/PROTOCOL.md, names with folders), and a browser would
      // resolve it to another address: "/files/.." is the page itself.
      say("File does not exist!");
      return;
    }
    say("Checking…");
    let response;
    try {
      response = await fetch(fileUrl(name), { method: "HEAD", cache: "no-store" });
    } catch (e) {
      say("The server did not answer. Check that it is still running, then try again.");
      return;
    }
    if (response.status === 404) {
      say("File does not exist!");
      return;
    }
    if (!response.ok) {
      say(`The server answered ${response.status}. Try again in a moment.`);
      return;
    }
    const size = Number(response.headers.get("Content-Length"));
    ask({ name, size, etag: response.headers.get("ETag"), url: fileUrl(name) });
  }

  function yes() {
    if (!shown) return;
    choice.hidden = true;
    // The browser's own download: it shows progress, keeps the file, and can resume.
    const link = document.createElement("a");
    link.href = shown.url;
    link.download = "";
    document.body.appendChild(link);
    link.click();
    link.remove();
    say(`Downloading ${quoted(shown.name)}: your browser shows its progress.`);
    shown = null;
  }

  async function no() {
    if (!shown) return;
    const file = shown;
    choice.hidden = true;
    shown = null;
    try {
      const response = await fetch("/api/v1/decisions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ version: 1, file: file.name, decision: "declined",
          etag: file.etag }),
      });
      if (!response.ok) throw new Error(String(response.status));
      say(`You declined ${quoted(file.name)}; the server has recorded it.`);
    } catch (e) {
      say(`Your answer could not be recorded (${e.message}). Try again.`);
      ask(file);
    }
  }

  // --- the offer, kept live ------------------------------------------------------------

  function listItem(file) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.className = "file";
    link.href = fileUrl(file.name);
    link.dataset.name = file.name;
    link.textContent = file.name;
    const size = document.createElement("span");
    size.className = "size";
    size.textContent = `${exactBytes(file.size)} (${humanSize(file.size)})`;
    item.append(link, " ", size);
    if (file.sha256) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `SHA-256 ${file.sha256.slice(0, 12)}…`;
      const digest = document.createElement("code");
      digest.className = "digest";
      digest.textContent = file.sha256;
      details.append(summary, digest);
      item.append(details);
    }
    return item;
  }

  async function refreshOffer() {
    try {
      const headers = offerTag ? { "If-None-Match": offerTag } : {};
      const response = await fetch("/api/v1/offer", { headers, cache: "no-store" });
      if (response.status !== 200) return; // 304: unchanged
      offerTag = response.headers.get("ETag");
      const offer = await response.json();
      $("message").textContent = offer.message;
      $("files").replaceChildren(...offer.files.slice(0, 1000).map(listItem));
    } catch (e) {
      /* the server is away for a moment: the page keeps what it shows */
    }
  }

  // --- wiring --------------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check(field.value.trim());
  });
  $("yes").addEventListener("click", yes);
  $("no").addEventListener("click", no);
  person.addEventListener("change", () => rememberName(person.value.trim()));
  $("files").addEventListener("click", (event) => {
    const link = event.target.closest("a.file");
    if (!link) return;
    event.preventDefault(); // a tap asks first, as typing the name does
    field.value = link.dataset.name;
    check(link.dataset.name);
    field.scrollIntoView({ block: "center" });
  });
  restoreName();
  dialogue.hidden = false;
  refreshOffer();
  setInterval(refreshOffer, POLL_MS);
})();
