// The chat page of the loranet gateway: plain JS, no build step.
// The API key comes from the input field, or once from the URL fragment (#key=lnk_...),
// and is kept in this browser's localStorage; it is never put in a URL sent to the server.
"use strict";

const $ = (id) => document.getElementById(id);
const turns = [];

function apiKey() {
  return $("key").value.trim();
}

function headers() {
  const h = { "Content-Type": "application/json" };
  if (apiKey()) h["Authorization"] = "Bearer " + apiKey();
  return h;
}

function setStatus(text) {
  $("status").textContent = text;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return div;
}

async function loadModels() {
  try {
    const res = await fetch("/v1/models", { headers: headers() });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    const select = $("model");
    const rows = $("models").querySelector("tbody");
    select.textContent = "";
    rows.textContent = "";
    for (const m of body.data) {
      const opt = document.createElement("option");
      opt.value = m.id;
      opt.textContent = m.kind === "adapter" ? `${m.id} (adapter on ${m.base_model})` : m.id;
      select.appendChild(opt);
      const tr = document.createElement("tr");
      for (const [text, cls] of [[m.id, ""], [m.kind, ""], [m.adapter_hash || "-", "hash"]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      rows.appendChild(tr);
    }
    const adapter = body.data.find((m) => m.kind === "adapter");
    if (adapter) select.value = adapter.id;
    setStatus(`${body.data.length} models`);
  } catch (err) {
    setStatus("cannot list models: " + err.message);
  }
}

async function send(text) {
  turns.push({ role: "user", content: text });
  addMessage("user", text);
  const out = addMessage("assistant", "");
  const meta = document.createElement("div");
  meta.className = "meta";
  const stream = $("stream").checked;
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ model: $("model").value, messages: turns, stream, max_tokens: 64 }),
  });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    out.className = "msg error";
    out.textContent = body.error ? body.error.message : res.statusText;
    turns.pop();
    return;
  }
  const mode = res.headers.get("X-Loranet-Execution-Mode");
  const mult = res.headers.get("X-Loranet-Reward-Multiplier");
  const answer = stream ? await readStream(res, out) : (await res.json()).choices[0].message.content;
  out.textContent = answer;
  turns.push({ role: "assistant", content: answer });
  meta.textContent = `served by ${mode} (reward x${mult})`;
  out.appendChild(meta);
}

// Reads the server-sent events of a streamed chat completion into `out` as they come.
async function readStream(res, out) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let answer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) {
        out.className = "msg error";
        answer += " [" + chunk.error.message + "]";
      } else if (chunk.choices.length && chunk.choices[0].delta.content) {
        answer += chunk.choices[0].delta.content;
      }
      out.textContent = answer;
    }
  }
  return answer;
}

function init() {
  // Link parameters in the fragment (never sent to the server): key, model, stream, prompt.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("key")) localStorage.setItem("loranet.key", fragment.get("key"));
  if (location.hash) window.history.replaceState(null, "", location.pathname);
  $("key").value = localStorage.getItem("loranet.key") || "";
  $("key").addEventListener("change", () => {
    localStorage.setItem("loranet.key", apiKey());
    loadModels();
  });
  $("form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    send(text).catch((err) => addMessage("error", String(err)));
  });
  loadModels().then(() => {
    if (fragment.get("model")) $("model").value = fragment.get("model");
    if (fragment.get("stream") === "0") $("stream").checked = false;
    if (fragment.get("prompt")) {
      send(fragment.get("prompt")).catch((err) => addMessage("error", String(err)));
    }
  });
}

init();
