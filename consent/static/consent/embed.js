/* flask-consent-banner: embedded content, loaded only by pages that have a
   consent_iframe() placeholder. consent.js records the choice; this swaps
   placeholders for the real iframes. */
(() => {
  const d = document;
  let submitted; // the form of the latest choice (consent.js posts it)
  d.addEventListener("submit", (e) => { submitted = e.target; }, true);

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
    return f;
  };

  // "Load content": this once, nothing recorded.
  d.addEventListener("click", (e) => {
    const load = e.target.closest("a[data-consent-load]");
    if (load) {
      e.preventDefault();
      embed(load.closest("[data-consent-embed]")).focus();
    }
  });

  // A choice that allows an embed's category: every such placeholder loads; the
  // one whose own "Always allow" was used hands focus to its iframe.
  d.addEventListener("consent:change", (e) => {
    const allowed = e.detail.categories;
    for (const box of d.querySelectorAll("[data-consent-embed]")) {
      if (allowed[box.dataset.consentEmbed]) {
        const f = embed(box);
        if (box.contains(submitted)) f.focus();
      }
    }
  });
})();
