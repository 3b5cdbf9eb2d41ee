// The dashboard's entry: a small history-API router, live refresh on new blocks (SSE).
import "./style.css";
import * as consolePage from "./console";
import * as pages from "./pages";
import { esc, getJson } from "./util";

type Route = { pattern: RegExp; title: (m: RegExpMatchArray) => string; page: (m: RegExpMatchArray) => Promise<string> };

const ROUTES: Route[] = [
  { pattern: /^\/$/, title: () => "Network", page: () => pages.overview() },
  { pattern: /^\/providers$/, title: () => "Providers", page: () => pages.providers() },
  { pattern: /^\/events$/, title: () => "Events", page: () => pages.events() },
  { pattern: /^\/pool\/(\d+)$/, title: (m) => `Pool ${m[1]}`, page: (m) => pages.pool(m[1]) },
  {
    pattern: /^\/pool\/(\d+)\/round\/(\d+)$/,
    title: (m) => `Pool ${m[1]} round ${m[2]}`,
    page: (m) => pages.round(m[1], m[2]),
  },
  { pattern: /^\/provider\/(0x[0-9a-fA-F]{40})$/, title: () => "Provider", page: (m) => pages.provider(m[1]) },
  { pattern: /^\/node\/(0x[0-9a-fA-F]{40})$/, title: () => "Node", page: (m) => pages.node(m[1]) },
];

const main = document.getElementById("main") as HTMLElement;
const live = document.getElementById("live") as HTMLElement;
let loading = 0;

function isConsole(): boolean {
  return location.pathname === "/console";
}

function markCurrentNav(): void {
  document.querySelectorAll<HTMLAnchorElement>("header nav a").forEach((a) => {
    const here = a.pathname === location.pathname;
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

// A live refresh re-renders the page: the element that had the keyboard focus is replaced, so
// focus would fall back to <body> and a keyboard user would lose their place on every block.
// Remember it by what it is (tag, id, link target, text) and focus its twin after the render.
const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

function focusKey(el: Element): string {
  return [el.tagName, el.id, el.getAttribute("href") ?? "", (el.textContent ?? "").trim()].join("|");
}

function savedFocus(): { key: string; index: number } | null {
  const el = document.activeElement;
  if (!(el instanceof HTMLElement) || el === main || !main.contains(el)) return null;
  return { key: focusKey(el), index: Array.from(main.querySelectorAll(FOCUSABLE)).indexOf(el) };
}

function restoreFocus(saved: { key: string; index: number } | null): void {
  if (!saved) return;
  const all = Array.from(main.querySelectorAll<HTMLElement>(FOCUSABLE));
  const twin = all.find((el) => focusKey(el) === saved.key) ?? all[Math.min(saved.index, all.length - 1)];
  twin?.focus({ preventScroll: true });
}

async function show(focus: boolean): Promise<void> {
  const ticket = ++loading;
  markCurrentNav();
  main.removeAttribute("data-ready");
  if (isConsole()) {
    document.title = "Console · loranet";
    main.innerHTML = consolePage.render();
    consolePage.mount(main);
    main.setAttribute("data-ready", "console");
    if (focus) main.focus();
    return;
  }
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const route = ROUTES.find((r) => r.pattern.test(path));
  let html: string;
  let title = "Not found";
  if (!route) {
    html = `<h1>Not found</h1><p>No page at ${esc(path)}. <a href="/">Back to the network</a>.</p>`;
  } else {
    const match = path.match(route.pattern) as RegExpMatchArray;
    title = route.title(match);
    try {
      html = await route.page(match);
    } catch (err) {
      html = `<h1>${esc(title)}</h1><p class="error" role="alert">${esc((err as Error).message)}</p>`;
    }
  }
  if (ticket !== loading) return; // a newer navigation won
  const scroll = window.scrollY;
  const kept = focus ? null : savedFocus();
  main.innerHTML = html;
  document.title = `${title} · loranet`;
  main.setAttribute("data-ready", path);
  if (focus) {
    main.focus();
    window.scrollTo(0, 0);
  } else {
    window.scrollTo(0, scroll);
    restoreFocus(kept);
  }
}

function navigate(href: string): void {
  history.pushState(null, "", href);
  void show(true);
}

document.addEventListener("click", (event) => {
  const a = (event.target as HTMLElement).closest("a");
  if (!a || a.target || a.hasAttribute("download") || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/artifacts/")) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => void show(true));

(document.getElementById("search") as HTMLFormElement).addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("q") as HTMLInputElement;
  try {
    const found = await getJson(`/api/search?q=${encodeURIComponent(input.value)}`);
    navigate(found.path);
  } catch (err) {
    live.textContent = (err as Error).message;
  }
});

// Live updates: the server sends a ``block`` event whenever the indexer moves.
function follow(): void {
  if (!("EventSource" in window)) {
    setInterval(() => void (isConsole() ? consolePage.onBlock() : show(false)), 5000);
    return;
  }
  const source = new EventSource("/api/stream");
  let first = true;
  source.addEventListener("block", (event) => {
    const data = JSON.parse((event as MessageEvent).data);
    live.textContent = data.cursor !== undefined ? `live · block ${data.cursor}` : "live";
    if (first) {
      first = false;
      return;
    }
    if (isConsole()) consolePage.onBlock();
    else void show(false);
  });
  source.onerror = () => {
    live.textContent = "reconnecting…";
  };
}

void show(false);
follow();
