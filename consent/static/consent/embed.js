/* flask-consent-banner: embedded content, loaded only by pages that have a
   consent_iframe(). consent.js records the choice; this swaps placeholders for
   the real iframes when their category is allowed, and back when it is not. */
(() => {
  const d = document;
  let submitted; // the form of the latest choice (consent.js posts it)
  d.addEventListener("submit", (e) => { submitted = e.target; }, true);
  // The placeholder each live iframe stands for, to put back on withdrawal.
  const placeholders = new Map();

  // Replace an embed placeholder with the real iframe.
  const embed = (box) => {
    const f = d.createElement("iframe");
    const o = box.dataset;
    for (const [k, v] of Object.entries(JSON.parse(o.attrs || "{}"))) {
      if (v != null && v !== false) f.setAttribute(k, v === true ? "" : v);
    }
    f.src = o.src;
    f.title = o.title;
    f.dataset.consentFrame = o.consentEmbed;
    box.replaceWith(f);
    placeholders.set(f, box);
    return f;
  };

  // An iframe the server rendered keeps its placeholder in the <template> before it.
  for (const f of d.querySelectorAll("iframe[data-consent-frame]")) {
    const t = f.previousElementSibling;
    if (t?.matches("template[data-consent-placeholder]")) {
      placeholders.set(f, t.content.firstElementChild);
      t.remove();
    }
  }

  // A Global Privacy Control signal only the script sees refuses these categories:
  // "Always allow" is not offered, and the note says why.
  const tidy = (root) => {
    if (!navigator.globalPrivacyControl) return;
    for (const b of root.querySelectorAll("[data-consent-gpc-refuses]")) b.remove();
    for (const p of root.querySelectorAll("[data-consent-gpc]")) p.hidden = false;
  };
  tidy(d);

  // "Load content": this once, nothing recorded.
  d.addEventListener("click", (e) => {
    const load = e.target.closest("a[data-consent-load]");
    if (load) {
      e.preventDefault();
      embed(load.closest("[data-consent-embed]")).focus();
    }
  });

  d.addEventListener("consent:change", (e) => {
    const allowed = e.detail.categories;
    // Allowed now: every such placeholder loads; the one whose own "Always allow"
    // was used takes focus for its iframe (consent.js moved it before this event).
    for (const box of d.querySelectorAll("[data-consent-embed]")) {
      if (allowed[box.dataset.consentEmbed]) {
        const f = embed(box);
        if (box.contains(submitted)) f.focus();
      }
    }
    // Refused now (withdrawn, or never granted after "Load content"): the content
    // stops at once, and its placeholder is back.
    for (const [f, box] of placeholders) {
      if (f.isConnected && !allowed[f.dataset.consentFrame]) {
        tidy(box);
        f.replaceWith(box);
        placeholders.delete(f);
      }
    }
  });
})();
