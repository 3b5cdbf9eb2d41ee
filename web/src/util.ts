// Small helpers shared by the pages: escaping, links, formatting, fetching.

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function esc(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export async function getJson(path: string): Promise<Json> {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.error ?? `${response.status} ${response.statusText}`, response.status);
  return body;
}

export async function postJson(path: string, payload: unknown): Promise<Json> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail) ? body.detail.map((d: Json) => d.msg).join("; ") : "";
    throw new ApiError(body.error ?? (detail || `${response.status} ${response.statusText}`), response.status);
  }
  return body;
}

export function short(hex: string | null | undefined, head = 6, tail = 4): string {
  if (!hex) return "";
  return hex.length > head + tail + 2 ? `${hex.slice(0, head + 2)}…${hex.slice(-tail)}` : hex;
}

export function addr(address: string | null | undefined, kind: "provider" | "node" = "provider"): string {
  if (!address) return "—";
  return `<a class="mono" href="/${kind}/${esc(address)}" title="${esc(address)}">${esc(short(address))}</a>`;
}

export function hash(value: string | null | undefined): string {
  if (!value) return "—";
  return `<code title="${esc(value)}">${esc(short(value, 8, 6))}</code>`;
}

export function amount(value: { lora: string } | null | undefined): string {
  return value ? esc(value.lora) : "—";
}

export function loss(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : value.toFixed(4);
}

export function when(timestamp: number | null | undefined): string {
  if (!timestamp) return "—";
  return new Date(timestamp * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function pager(page: { page: number; pages: number; total: number }, base: string, label: string): string {
  if (!page || page.pages <= 1) return "";
  const sep = base.includes("?") ? "&" : "?";
  const link = (p: number, text: string, rel: string) =>
    `<a href="${esc(base)}${sep}page=${p}" rel="${rel}" aria-label="${esc(label)}: ${text.toLowerCase()} page">${text}</a>`;
  const prev = page.page > 1 ? link(page.page - 1, "Previous", "prev") : `<span aria-disabled="true">Previous</span>`;
  const next = page.page < page.pages ? link(page.page + 1, "Next", "next") : `<span aria-disabled="true">Next</span>`;
  return `<nav class="pager" aria-label="${esc(label)} pages">${prev}<span>page ${page.page} of ${page.pages} (${page.total})</span>${next}</nav>`;
}

export function badge(text: string, kind: string = text): string {
  return `<span class="badge badge-${esc(kind)}">${esc(text)}</span>`;
}

export function table(caption: string, headers: string[], rows: string[][], empty = "nothing yet"): string {
  if (!rows.length) return `<p class="empty">${esc(caption)}: ${esc(empty)}.</p>`;
  const head = headers.map((h) => `<th scope="col">${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  return `<div class="scroll" tabindex="0" role="region" aria-label="${esc(caption)}"><table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export function stat(label: string, value: string): string {
  return `<div class="stat"><dt>${esc(label)}</dt><dd>${value}</dd></div>`;
}

export function pageParam(): number {
  const value = Number(new URLSearchParams(location.search).get("page") ?? "1");
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 1;
}
