/* flask-consent-banner: optional enhancement of the server-rendered banner.
   Every control also works as a plain form post without this file. */
(() => {
  "use strict";
  const d = document;
  const byId = (id) => d.getElementById(id);
  const gpc = navigator.globalPrivacyControl === true;
  let dialog, opener;

  // Turn inert text/plain scripts of now-allowed categories into live ones.
  const activate = (allowed) => {
    for (const old of d.querySelectorAll('script[type="text/plain"][data-consent]')) {
      if (!allowed[old.dataset.consent]) continue;
      const s = d.createElement("script");
      for (const { name, value } of old.attributes) {
        if (!/^(type|data-src|data-type|nonce)$/.test(name)) s.setAttribute(name, value);
      }
      if (old.dataset.type) s.type = old.dataset.type;
      if (old.nonce) s.nonce = old.nonce;
      if (old.dataset.src) {
        s.src = old.dataset.src;
        if (!old.hasAttribute("async")) s.async = false; // keep document order
      } else {
        s.text = old.text;
      }
      old.replaceWith(s);
    }
  };

  // Expire cookies the visitor refused, on this host and its parent domains.
  const forget = (patterns) => {
    if (!patterns.length) return;
    const res = patterns.map((p) => new RegExp(
      "^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$"));
    const labels = location.hostname.split(".");
    for (const pair of d.cookie.split(";")) {
      const name = pair.split("=")[0].trim();
      if (!name || !res.some((r) => r.test(name))) continue;
      d.cookie = name + "=; Max-Age=0; Path=/";
      for (let i = 0; i < labels.length - 1; i++) {
        d.cookie = name + "=; Max-Age=0; Path=/; Domain=" + labels.slice(i).join(".");
      }
    }
  };

  // Replace an embed placeholder with the real iframe.
  const embed = (box) => {
    const f = d.createElement("iframe");
    for (const [k, v] of Object.entries(JSON.parse(box.dataset.attrs || "{}"))) {
      if (v !== false && v !== null) f.setAttribute(k, v === true ? "" : v);
    }
    f.src = box.dataset.src;
    f.title = box.dataset.title;
    f.dataset.consentFrame = box.dataset.consentEmbed;
    box.replaceWith(f);
    return f;
  };

  // from: the form that chose; an embed's own form focuses its new iframe.
  const apply = (state, from) => {
    activate(state.categories);
    forget(state.forget);
    // Google Consent Mode: one update per decision (the server maps categories).
    if (state.google && typeof window.gtag == "function") window.gtag("consent", "update", state.google);
    let frame;
    for (const box of d.querySelectorAll("[data-consent-embed]")) {
      if (!state.categories[box.dataset.consentEmbed]) continue;
      const f = embed(box);
      if (box.contains(from)) frame = f;
    }
    if (dialog && dialog.open) dialog.close();
    const banner = byId("consent-banner");
    const reopen = byId("consent-reopen");
    const status = byId("consent-status");
    // An embed's "Always allow" may leave categories unanswered: keep asking.
    if (state.decided) {
      if (banner) banner.remove();
      d.documentElement.style.scrollPaddingBottom = "";
      if (reopen) reopen.hidden = false;
    }
    if (status) status.textContent = status.dataset.saved;
    const target = frame || (opener && opener.isConnected && opener) ||
      (reopen && !reopen.hidden && reopen.querySelector("button")) || d.querySelector("main,h1");
    if (target) {
      if (!target.matches("a,button,input,iframe,[tabindex]")) target.tabIndex = -1;
      target.focus();
    }
    d.dispatchEvent(new CustomEvent("consent:change", { detail: state }));
  };

  // A Global Privacy Control signal only the script can see: say it is honoured.
  const showGpc = (root) => {
    if (gpc) for (const p of root.querySelectorAll("[data-consent-gpc]")) p.hidden = false;
  };

  const open = async (url) => {
    url.searchParams.set("partial", "1");
    let html;
    try {
      const r = await fetch(url);
      if (!r.ok) throw new Error(r.status);
      html = await r.text();
    } catch {
      url.searchParams.delete("partial");
      location.assign(url);
      return;
    }
    if (!dialog) {
      dialog = d.createElement("dialog");
      dialog.className = "consent-dialog";
      dialog.setAttribute("aria-labelledby", "consent-settings-title");
      d.body.append(dialog);
    }
    dialog.innerHTML = html;
    showGpc(dialog);
    // The dialog's stylesheet comes with it: show the dialog once it applies.
    const sheet = dialog.querySelector("link[rel=stylesheet]");
    if (sheet && !sheet.sheet) await new Promise((r) => { sheet.onload = sheet.onerror = r; });
    dialog.showModal();
  };

  d.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!form.matches("[data-consent-form]")) return;
    e.preventDefault();
    const btn = e.submitter;
    const data = new FormData(form, btn);
    // formAction reads as the page's own URL when the attribute is absent.
    const url = new URL(btn && btn.hasAttribute("formaction") ? btn.formAction : form.action);
    if (form.hasAttribute("data-consent-open") || (btn && btn.hasAttribute("data-consent-open"))) {
      opener = btn || form;
      url.search = new URLSearchParams(data);
      return open(url);
    }
    if (gpc) data.set("gpc", "1"); // the browser's opt-out travels with the choice
    try {
      const r = await fetch(url, {
        method: "POST",
        body: new URLSearchParams(data),
        headers: { Accept: "application/json" },
      });
      if (!r.ok) throw new Error(r.status);
      apply(await r.json(), form);
    } catch {
      form.action = url;
      form.submit(); // fall back to the plain form post
    }
  });

  d.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-consent-open]");
    const load = e.target.closest("a[data-consent-load]");
    if (load) {
      e.preventDefault();
      embed(load.closest("[data-consent-embed]")).focus();
    } else if (link) {
      e.preventDefault();
      opener = link;
      open(new URL(link.href));
    } else if (e.target.closest("[data-consent-close]")) {
      dialog.close();
    }
  });

  showGpc(d);

  // Keep focused elements clear of the sticky banner (WCAG 2.4.11).
  const banner = byId("consent-banner");
  if (banner) d.documentElement.style.scrollPaddingBottom = banner.offsetHeight + 32 + "px";
})();
