/* dockyard ui, 1 of 3: DOM and API helpers shared by the pages (service.js, app.js).
   Plain JavaScript, no framework, nothing from the internet; every number and text comes
   from the JSON API of dockyard/ui/routes.py (the SDK). */
"use strict";

let cleanups = [];  // timers and streams of the page shown; stopped when another page opens

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  return add(node, children);
}

function add(node, children) {
  for (const child of children.flat(4)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fill(node, ...children) {  // replaceChildren, with el()'s rules for lists and nulls
  node.replaceChildren();
  return add(node, children);
}

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

async function api(path, options) {
  const answer = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const text = await answer.text();
  let data;
  try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
  if (!answer.ok) {
    const error = new Error((data && data.error) || answer.statusText);
    error.hint = data && data.hint;
    error.status = answer.status;
    throw error;
  }
  return data;
}

function post(path, body) {
  return api(path, { method: "POST", headers: { "content-type": "application/json" },
                     body: typeof body === "string" ? body : JSON.stringify(body || {}) });
}

function failure(error) {
  // an Error of api(), or an action's answer {ok: false, error, hint}
  return el("div", { class: "notice bad" }, error.error || error.message || String(error),
            error.hint ? el("div", {}, "What to do: " + error.hint) : null);
}

function state(value) { return el("span", { class: "state", "data-state": value || "" }, value || "?"); }

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleString();
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes, i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function chips(object) {
  const entries = Object.entries(object || {});
  if (!entries.length) return el("span", { class: "muted" }, "none");
  return entries.map(([k, v]) => el("span", { class: "chip" }, `${k}: ${v}`));
}

function every(ms, fn) {
  const id = setInterval(fn, ms);
  cleanups.push(() => clearInterval(id));
}
