/* dockyard ui, 2 of 3: a service's page (state, events, live log, metrics and charts, test
   form, keys, actions, diagnosis). Uses dom.js; contentShown() is app.js's. */
"use strict";

function chart(title, times, series, unit) {
  const W = 320, H = 120, L = 34, B = 16;
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const max = Math.max(1e-9, ...values);
  const t0 = times[0], t1 = times[times.length - 1];
  const x = (t) => L + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (W - L - 4) : (W - L) / 2);
  const y = (v) => H - B - (v / max) * (H - B - 6);
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`;
  svg += `<line class="axis" x1="${L}" y1="${H - B}" x2="${W}" y2="${H - B}"/><line class="axis" x1="${L}" y1="4" x2="${L}" y2="${H - B}"/>`;
  svg += `<text x="${L - 3}" y="10" text-anchor="end">${esc(fmt(max))}</text><text x="${L - 3}" y="${H - B}" text-anchor="end">0</text>`;
  if (times.length) {
    svg += `<text x="${L}" y="${H - 3}">${esc(new Date(t0 * 1000).toLocaleTimeString())}</text>`;
    svg += `<text x="${W - 2}" y="${H - 3}" text-anchor="end">${esc(new Date(t1 * 1000).toLocaleTimeString())}</text>`;
  }
  series.forEach((s, i) => {
    const points = s.values.map((v, j) => (v === null || v === undefined) ? null : `${x(times[j]).toFixed(1)},${y(v).toFixed(1)}`).filter(Boolean);
    if (points.length) svg += `<polyline class="s${i}" fill="none" stroke-width="1.6" points="${points.join(" ")}"/>`;
  });
  svg += "</svg>";
  const box = el("div", { class: "card chart", "data-chart": title },
    el("h2", {}, title + (unit ? ` (${unit})` : "")),
    el("div", { class: "legend" }, series.map((s, i) => el("span", {}, el("i", { class: "s" + i }), s.name))));
  const holder = el("div", {});
  holder.innerHTML = svg;
  box.append(holder);
  return box;
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

function renderMetrics(box, data) {
  fill(box);
  if (!performance.getEntriesByName("dockyard:metrics").length) performance.mark("dockyard:metrics");
  if (!data.available) {
    box.append(el("p", { class: "muted", id: "metrics-unavailable" }, data.why || "metrics not available"));
    return;
  }
  const h = data.history || [], c = data.current || {};
  const t = h.map((p) => p.t);
  const st = (k) => h.map((p) => (p.status_per_s || {})[k]);
  const lat = c.latency_ms || {}, sp = c.status_per_s || {};
  box.append(el("div", { class: "row", id: "metrics-now" },
    el("span", {}, el("span", { class: "now" }, fmt(c.requests_per_s)), " req/s"),
    el("span", {}, "p50 ", el("b", {}, fmt(lat.p50)), " ms · p99 ", el("b", {}, fmt(lat.p99)), " ms"),
    el("span", {}, `4xx ${fmt(sp["4xx"])}/s · 5xx ${fmt(sp["5xx"])}/s · 503 ${fmt(sp["503"])}/s`),
    el("span", {}, `in flight ${c.in_flight ?? "–"} · replicas ${c.replicas ?? "–"}`),
    el("span", { class: "muted" }, `last ${Math.round(c.window_s || 60)} s`)));
  if (h.length < 2) {
    box.append(el("p", { class: "muted", id: "charts-pending" }, "The charts (request rate, latency, errors, replicas) appear once the service has a few samples of history (one every 10 s)."));
    return;
  }
  box.append(el("div", { class: "grid charts" },
    chart("Request rate", t, [{ name: "req/s", values: h.map((p) => p.requests_per_s) }], "req/s"),
    chart("Latency", t, [{ name: "p50", values: h.map((p) => p.p50_ms) }, { name: "p99", values: h.map((p) => p.p99_ms) }], "ms"),
    chart("Errors", t, [{ name: "4xx", values: st("4xx") }, { name: "5xx", values: st("5xx") }, { name: "503", values: st("503") }], "per s"),
    chart("Replicas", t, [{ name: "replicas", values: h.map((p) => p.replicas) }], "")));
}

const ERROR_LINE = /(^Traceback \(most recent call last\)|^\S*(Error|Exception)\b.*:|\bERROR\b|CrashLoopBackOff)/;

function logHtml(lines) {
  // one text run per batch: only error lines get an element of their own (10,000 lines lay out fast)
  let html = "";
  for (const line of lines) html += ERROR_LINE.test(line) ? `<span class="err">${esc(line)}</span>\n` : esc(line) + "\n";
  return html;
}

function toEnd(pre) {
  // and again after the next frame, once what was added is laid out
  pre.scrollTop = pre.scrollHeight;
  requestAnimationFrame(() => { pre.scrollTop = pre.scrollHeight; });
}

function followLog(name, pre, status) {
  const source = new EventSource(`/api/services/${encodeURIComponent(name)}/logs`);
  cleanups.push(() => source.close());
  let total = 0;
  const append = (lines, html) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 30;
    const chunk = document.createElement("span");
    chunk.dataset.lines = lines;
    chunk.innerHTML = html;
    pre.append(chunk);
    total += lines;
    while (total > 20000 && pre.childElementCount > 1) { total -= Number(pre.firstElementChild.dataset.lines); pre.firstElementChild.remove(); }
    if (atBottom || pre.dataset.loaded !== "1") {
      if (pre.isConnected) toEnd(pre);
      else pre.dataset.stick = "1";  // scrolled to the end once the page is drawn (route())
    }
  };
  source.addEventListener("lines", (event) => {
    const lines = JSON.parse(event.data).lines;
    append(lines.length, logHtml(lines));
    if (pre.dataset.loaded !== "1") {
      performance.mark("dockyard:log");  // benchmarks/ui reads it
      if (pre.isConnected) contentShown();
    }
    pre.dataset.loaded = "1";
    pre.dataset.count = total;
    status.textContent = "following";
  });
  source.addEventListener("gap", () => append(1, '<span class="gap">[lines skipped: the log grew faster than it was read]</span>\n'));
  source.addEventListener("failure", (event) => { status.textContent = JSON.parse(event.data).error; source.close(); });
  source.onerror = () => { status.textContent = "reconnecting…"; };
}

function timeline(events) {
  if (!events.length) return el("p", { class: "muted" }, "no event");
  return el("ol", { class: "timeline", id: "events" }, events.slice().reverse().map((e) =>
    el("li", { "data-state": e.state }, el("time", {}, when(e.at)), state(e.state), " ", e.message || "")));
}

function testForm(name, box) {
  const input = el("textarea", { id: "score-input", spellcheck: "false", "aria-label": "request body" });
  const result = el("pre", { id: "score-result", class: "light" }, "");
  const schema = el("details", {}, el("summary", {}, "input schema"), el("pre", { class: "light", id: "score-schema" }, ""));
  const send = el("button", { class: "primary", id: "score-send", onclick: async () => {
    send.disabled = true;
    result.textContent = "…";
    try {
      const data = await post(`/api/services/${encodeURIComponent(name)}/score`, input.value);
      if (data.ok) { result.className = "light"; result.textContent = JSON.stringify(data.result, null, 2); }
      else {
        result.className = "error";
        result.textContent = [data.status ? `HTTP ${data.status}` : null, data.error, data.content,
                              data.requestId ? `request id ${data.requestId}` : null].filter(Boolean).join("\n");
      }
    } catch (error) { result.className = "error"; result.textContent = error.message; }
    send.disabled = false;
  } }, "Send");
  fill(box, el("h2", {}, "Test"), input, el("div", { class: "row" }, send, el("span", { class: "muted", id: "score-note" }, "")), schema, result);
  api(`/api/services/${encodeURIComponent(name)}/swagger`).then((data) => {
    if (!data.available) { document.getElementById("score-note").textContent = data.why; input.value = "{}"; return; }
    input.value = data.sample;
    document.getElementById("score-schema").textContent = JSON.stringify(data.inputSchema, null, 2);
    document.getElementById("score-note").textContent = "sample input from " + data.uri;
  }).catch((error) => { document.getElementById("score-note").textContent = error.message; });
}

function keysBox(name, box) {
  const out = el("div", { id: "keys" });
  const reveal = el("button", { id: "keys-reveal", onclick: async () => {
    const data = await post(`/api/services/${encodeURIComponent(name)}/keys`);
    fill(out, data.ok ? el("dl", { class: "kv" }, el("dt", {}, "primary"), el("dd", {}, el("code", {}, data.primary)),
                                     el("dt", {}, "secondary"), el("dd", {}, el("code", {}, data.secondary)))
                                : failure(data));
  } }, "Reveal keys");
  fill(box, el("h2", {}, "Keys"), reveal, out);
}

function actionsRow(name, notice) {
  const run = (what) => async () => {
    fill(notice, el("div", { class: "notice" }, what + "…"));
    try {
      const data = await post(`/api/services/${encodeURIComponent(name)}/${what}`);
      fill(notice, data.ok ? el("div", { class: "notice" }, data.message) : failure(data));
    } catch (error) { fill(notice, failure(error)); }
  };
  const confirmBox = el("span", { class: "row", hidden: true });
  const typed = el("input", { type: "text", id: "delete-confirm", placeholder: `type ${name} to delete`, "aria-label": "service name" });
  confirmBox.append(typed, el("button", { class: "danger primary", id: "delete-yes", onclick: async () => {
    const data = await post(`/api/services/${encodeURIComponent(name)}/delete`, { confirm: typed.value });
    if (data.ok) location.hash = "#/services"; else fill(notice, failure(data));
  } }, "Delete for good"));
  return el("div", { class: "row" },
    el("button", { id: "action-reload", onclick: run("reload") }, "Reload"),
    el("button", { id: "action-restart", onclick: run("restart") }, "Restart"),
    el("button", { class: "danger", id: "action-delete", onclick: () => { confirmBox.hidden = false; typed.focus(); } }, "Delete…"),
    el("button", { id: "action-diagnose", onclick: () => diagnose(name, notice) }, "Diagnose"),
    confirmBox);
}

async function diagnose(name, notice) {
  fill(notice, el("div", { class: "notice" }, "diagnosing…"));
  try {
    const data = await post(`/api/services/${encodeURIComponent(name)}/diagnose`);
    if (!data.ok) { fill(notice, failure(data)); return; }
    fill(notice, el("div", { class: "card", id: "diagnosis" }, el("h2", {}, `Diagnosis: ${data.subject}`),
      data.steps.map((s) => el("div", { class: "step" },
        el("strong", { class: "step-" + s.status }, `${s.status === "passed" ? "✓" : s.status === "failed" ? "✗" : "–"} ${s.step}`), " ", s.finding,
        s.evidence && s.status === "failed" ? el("pre", { class: "error" }, s.evidence) : null,
        s.fix && s.status === "failed" ? el("div", { class: "notice" }, "Fix: ", el("code", {}, s.fix)) : null))));
  } catch (error) { fill(notice, failure(error)); }
}

async function servicePage(name) {
  const path = `/api/services/${encodeURIComponent(name)}`;
  const log = el("pre", { class: "log", id: "log" });
  const logStatus = el("span", { class: "muted", id: "log-status" }, "loading…");
  followLog(name, log, logStatus);  // first: the log is the largest read
  const [data, all] = await Promise.all([api(path), api("/api/services")]);
  const header = el("h1", {}, name, el("span", { id: "state" }, state(data.state)));
  const strip = el("div", { class: "services-strip" }, all.map((s) =>
    el("a", { class: "chip", href: `#/services/${encodeURIComponent(s.name)}` }, s.name + " · " + s.state)));
  const notice = el("div", { id: "action-notice" });
  const facts = el("dl", { class: "kv", id: "facts" });
  const errorBox = el("div", {});
  const events = el("div", { class: "card" });
  const metrics = el("div", { class: "card", id: "metrics" }, el("h2", {}, "Metrics"), el("p", { class: "muted" }, "loading…"));
  const form = el("div", { class: "card", id: "test-form" });
  const keys = el("div", { class: "card" });
  const show = (d) => {
    fill(header.querySelector("#state"), state(d.state));
    fill(facts,
      el("dt", {}, "where"), el("dd", {}, d.computeType),
      el("dt", {}, "scoring URI"), el("dd", {}, el("code", {}, d.scoringUri || "–")),
      el("dt", {}, "restarts"), el("dd", {}, String(d.restartCount)),
      d.replicas !== undefined ? [el("dt", {}, "replicas"), el("dd", {}, String(d.replicas))] : null,
      el("dt", {}, "models"), el("dd", {}, (d.models || []).map((m) => el("span", { class: "chip" }, m))),
      el("dt", {}, "key auth"), el("dd", {}, d.authEnabled ? "on" : "off"),
      el("dt", {}, "tags"), el("dd", {}, chips(d.tags)));
    fill(errorBox, d.error ? el("pre", { class: "error", id: "service-error" }, d.error) : "");
    fill(events, el("h2", {}, "Events"), timeline(d.events || []));
  };
  show(data);
  testForm(name, form);
  if (data.authEnabled) keysBox(name, keys); else fill(keys, el("h2", {}, "Keys"), el("p", { class: "muted" }, "key authentication is off"));
  const loadMetrics = () => api(`${path}/metrics`).then((m) => {
    fill(metrics, el("h2", {}, "Metrics"));
    const box = el("div", {});
    metrics.append(box);
    renderMetrics(box, m);
  }).catch((error) => fill(metrics, el("h2", {}, "Metrics"), failure(error)));
  loadMetrics();
  every(3000, () => api(path).then(show).catch(() => {}));
  every(5000, loadMetrics);
  return [strip, header, actionsRow(name, notice), notice, el("div", { class: "card" }, facts), errorBox,
          metrics, el("div", { class: "card" }, el("div", { class: "row" }, el("h2", {}, "Log"), logStatus), log),
          el("div", { class: "grid" }, form, el("div", {}, keys, events))];
}
