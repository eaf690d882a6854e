/* dockyard ui, 3 of 3: the list pages, an image's page, and the routing (after dom.js and
   service.js). */
"use strict";

const main = document.getElementById("main");

/* ---------- pages ---------- */

function serviceCards(services) {
  if (!services.length) return el("p", { class: "muted" }, "No service yet: deploy one with Model.deploy() or `dockyard service`.");
  return el("div", { class: "list" }, services.map((s) => el("a", { class: "card", href: `#/services/${encodeURIComponent(s.name)}`,
                                                                    "data-service": s.name },
    el("div", { class: "row" }, el("strong", {}, s.name), state(s.state)),
    el("div", { class: "muted" }, `${s.computeType} · restarts ${s.restartCount}`),
    el("div", {}, (s.models || []).map((m) => el("span", { class: "chip" }, m))))));
}

async function servicesPage() {
  const box = el("div", { id: "services" }, serviceCards(await api("/api/services")));
  every(5000, () => api("/api/services").then((services) => fill(box, serviceCards(services))).catch(() => {}));
  return [el("h1", {}, "Services"), box];
}

async function modelsPage() {
  const models = await api("/api/models");
  const cards = models.map((m) => el("div", { class: "card", "data-model": m.id },
    el("div", { class: "row" }, el("strong", {}, m.name), el("span", { class: "chip" }, "version " + m.version),
       m.framework ? el("span", { class: "muted" }, m.framework) : null),
    m.description ? el("div", {}, m.description) : null,
    el("dl", { class: "kv" }, el("dt", {}, "registered"), el("dd", {}, when(m.createdTime)),
       el("dt", {}, "size"), el("dd", {}, size(m.size)),
       el("dt", {}, "tags"), el("dd", {}, chips(m.tags)),
       el("dt", {}, "properties"), el("dd", {}, chips(m.properties))),
    el("details", {}, el("summary", {}, `${m.files.length} file(s)`),
       el("ul", {}, m.files.map((f) => el("li", {}, el("code", {}, f.path), " ", el("span", { class: "muted" }, size(f.size))))))));
  return [el("h1", {}, "Models"),
          models.length ? el("div", { class: "list" }, cards)
                        : el("p", { class: "muted" }, "No model registered: Model.register(ws, model_path, model_name).")];
}

async function environmentsPage() {
  const envs = await api("/api/environments");
  const cards = envs.map((e) => el("div", { class: "card", "data-environment": `${e.name}:${e.version}` },
    el("div", { class: "row" }, el("strong", {}, e.name), el("span", { class: "chip" }, "version " + e.version)),
    el("dl", { class: "kv" },
       el("dt", {}, "packages"), el("dd", {}, e.packages.length ? e.packages.map((p) => el("span", { class: "chip" }, p)) : el("span", { class: "muted" }, "none")),
       e.baseImage ? [el("dt", {}, "base image"), el("dd", {}, e.baseImage)] : null,
       el("dt", {}, "build hash"), el("dd", {}, el("code", {}, e.buildHash || "")))));
  return [el("h1", {}, "Environments"),
          envs.length ? el("div", { class: "list" }, cards)
                      : el("p", { class: "muted" }, "No environment registered: env.register(ws).")];
}

async function imagesPage() {
  const images = await api("/api/images");
  const cards = images.map((i) => el("a", { class: "card", href: `#/images/${encodeURIComponent(i.name)}/${i.version}`, "data-image": i.id },
    el("div", { class: "row" }, el("strong", {}, i.id), state(i.state)),
    el("div", { class: "muted" }, i.location),
    i.error ? el("div", { class: "notice bad" }, i.error.split("\n")[0]) : null));
  return [el("h1", {}, "Images"),
          images.length ? el("div", { class: "list" }, cards)
                        : el("p", { class: "muted" }, "No image built: Model.package() or Image.create().")];
}

async function imagePage(name, version) {
  const data = await api(`/api/images/${encodeURIComponent(name)}/${version}`);
  const errors = new Set(data.errorLines);
  const html = data.lines.map((line, i) => {
    const cls = i === data.failingStep ? "l fail" : errors.has(i) ? "l err" : /^Step \d+\/\d+ : /.test(line) ? "l step" : "l";
    return `<span class="${cls}" data-line="${i}">${esc(line)}</span>`;
  }).join("");
  const log = el("pre", { class: "log", id: "build-log" });
  log.innerHTML = html || '<span class="l">(no build log)</span>';
  const parts = [el("h1", {}, data.id, state(data.state))];
  if (data.error) parts.push(el("pre", { class: "error", id: "image-error" }, data.error.split("\n--- last log lines ---")[0]));
  if (data.failingStep !== null) parts.push(el("p", {}, "Failing step: ", el("code", { id: "failing-step" }, data.lines[data.failingStep])));
  if (data.diagnosis) parts.push(el("div", { class: "notice", id: "image-diagnosis" }, data.diagnosis.finding,
                                    data.diagnosis.fix ? el("div", {}, "Fix: ", el("code", {}, data.diagnosis.fix)) : null));
  parts.push(el("div", { class: "card" }, el("h2", {}, "Build log"), log));
  setTimeout(() => {  // to the failing step, else to the newest lines
    const fail = log.querySelector(".fail");
    log.scrollTop = fail ? fail.offsetTop - 40 : log.scrollHeight;
  }, 0);
  if (data.state === "Running" || data.state === "NotStarted") every(2000, route);  // a build going on
  return parts;
}

/* ---------- routing ---------- */

function contentShown() {
  // the page and (on a service's page) its log are drawn: the mark after the next frame is
  // the time to content that benchmarks/ui measures
  if (performance.getEntriesByName("dockyard:content").length) return;
  requestAnimationFrame(() => setTimeout(() => {
    if (!performance.getEntriesByName("dockyard:content").length) performance.mark("dockyard:content");
  }, 0));
}

const pages = [
  [/^#\/services\/([^/]+)$/, (m) => servicePage(decodeURIComponent(m[1])), "services"],
  [/^#\/models$/, modelsPage, "models"],
  [/^#\/environments$/, environmentsPage, "environments"],
  [/^#\/images\/([^/]+)\/(\d+)$/, (m) => imagePage(decodeURIComponent(m[1]), m[2]), "images"],
  [/^#\/images$/, imagesPage, "images"],
  [/^(#\/services)?\/?$/, servicesPage, "services"],
];

async function route() {
  cleanups.forEach((stop) => stop());
  cleanups = [];
  const hash = location.hash || "#/services";
  const found = pages.find(([pattern]) => pattern.test(hash)) || pages[pages.length - 1];
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === found[2]));
  const token = Symbol();
  route.current = token;
  try {
    const content = await found[1](hash.match(found[0]));
    if (route.current !== token) return;
    fill(main, ...content);
    const heading = main.querySelector("h1");
    document.title = (heading ? heading.firstChild.textContent + " · " : "") + "dockyard";
  } catch (error) {
    if (route.current !== token) return;
    fill(main, el("h1", {}, "Could not load this page"), failure(error));
  }
  main.querySelectorAll("pre[data-stick]").forEach((pre) => { toEnd(pre); delete pre.dataset.stick; });
  main.dataset.ready = hash;
  performance.mark("dockyard:drawn");  // benchmarks/ui reads it
  const log = main.querySelector("#log");
  if (!log || log.dataset.loaded === "1") contentShown();
}

window.addEventListener("hashchange", route);
api("/api/workspace").then((w) => { document.getElementById("workspace").textContent = `workspace ${w.name}`; }).catch(() => {});
route();
