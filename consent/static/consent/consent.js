/* flask-consent-banner: optional enhancement of the server-rendered banner.
   Every control also works as a plain form post without this file. */
(() => {
  const d = document;
  const gpc = navigator.globalPrivacyControl;
  const html = d.documentElement.style;
  const banner = d.getElementById("consent-banner");
  const reopen = d.getElementById("consent-reopen");
  const status = d.getElementById("consent-status");
  let dialog, opener;

  // A Global Privacy Control signal only the script can see: say it is honoured.
  const showGpc = (root) => {
    if (gpc) for (const p of root.querySelectorAll("[data-consent-gpc]")) p.hidden = false;
  };

  // The settings in a dialog (the server sends it whole); if anything fails,
  // the settings page instead.
  const open = async (url) => {
    url.searchParams.set("partial", "1");
    try {
      const r = await fetch(url);
      if (!r.ok) throw r;
      dialog?.remove();
      d.body.insertAdjacentHTML("beforeend", await r.text());
      dialog = d.body.lastElementChild;
      showGpc(dialog);
      // The dialog's stylesheet comes with it: show the dialog once it applies.
      const sheet = dialog.querySelector("link");
      if (sheet && !sheet.sheet) await new Promise((r) => { sheet.onload = sheet.onerror = r; });
      dialog.showModal();
    } catch {
      url.searchParams.delete("partial");
      location.assign(url);
    }
  };

  d.addEventListener("submit", async (e) => {
    const form = e.target;
    const btn = e.submitter;
    if (!form.matches("[data-consent-form]")) return;
    e.preventDefault();
    const data = new URLSearchParams(new FormData(form, btn));
    // formAction reads as the page's own URL when the attribute is absent.
    const url = new URL(btn?.hasAttribute("formaction") ? btn.formAction : form.action);
    if (form.matches("[data-consent-open]") || btn?.matches("[data-consent-open]")) {
      opener = btn || form;
      url.search = data;
      return open(url);
    }
    if (gpc) data.set("gpc", "1"); // the browser's opt-out travels with the choice
    try {
      const r = await fetch(url, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
      });
      if (!r.ok) throw r;
      const state = await r.json();
      const allowed = state.categories;

      // Inert text/plain scripts of now-allowed categories become live ones: a
      // copy runs when inserted, as the inert original never started. Its
      // data-type and data-src become type and src; the nonce is carried over.
      for (const old of d.querySelectorAll('script[type="text/plain"][data-consent]')) {
        if (!allowed[old.dataset.consent]) continue;
        const s = old.cloneNode(true);
        const o = s.dataset;
        s.removeAttribute("type");
        for (const k of ["type", "src"]) {
          if (o[k]) s[k] = o[k];
          delete o[k];
        }
        s.nonce = old.nonce;
        // Without async, keep document order (old.async reads true once parsed).
        s.async = old.hasAttribute("async");
        old.replaceWith(s);
      }

      // Expire cookies the visitor refused, on this host and each parent domain,
      // on this page's path and each one above it: a cookie is only reached by
      // its own Domain and Path (the patterns are globs: * any run, ? one character).
      const glob = (p) => p.replace(/\W/g, (c) => c == "*" ? "[^=]*" : c == "?" ? "[^=]" : "\\" + c);
      const refused = RegExp("(?:^|; )(" + state.forget.map(glob).join("|") + ")=", "g");
      // "/a/b" gives "/", "/a", "/a/", "/a/b", "/a/b/"; "www.shop.example" gives
      // itself and each domain above it (the browser ignores the top-level one).
      const paths = location.pathname.split("/").flatMap((_, i, a) => {
        const p = a.slice(0, i + 1).join("/");
        return [p || "/", p + "/"];
      });
      const domains = ["", ...location.hostname.split(".").map((_, i, a) => ";Domain=" + a.slice(i).join("."))];
      for (const [, name] of d.cookie.matchAll(refused)) {
        for (const p of paths) for (const h of domains) d.cookie = name + "=;Max-Age=0;Path=" + p + h;
      }

      // Google Consent Mode: one update per decision (the server maps categories).
      if (state.google) window.gtag?.("consent", "update", state.google);
      dialog?.close();
      // An embed's "Always allow" may leave categories unanswered: keep asking.
      if (state.decided) {
        banner?.remove();
        if (reopen) reopen.hidden = false;
      }
      // A hidden form is posted by script (gpc.js), not the visitor: focus stays.
      if (status) status.textContent = status.dataset.saved;
      const target = !form.hidden && ((opener?.isConnected && opener) ||
        (!reopen?.hidden && reopen?.querySelector("button")) || d.querySelector("main,h1"));
      if (target) {
        if (target.tabIndex < 0) target.tabIndex = -1; // e.g. main: focusable by script
        target.focus();
      }
      // Listeners run last: embed.js swaps in the iframes now allowed, and gives
      // focus to the one whose own "Always allow" was used.
      d.dispatchEvent(new CustomEvent("consent:change", { detail: state }));
    } catch {
      form.action = url;
      form.submit(); // fall back to the plain form post
    }
  });

  d.addEventListener("click", (e) => {
    const t = e.target;
    const link = t.closest("a[data-consent-open]");
    if (link) {
      e.preventDefault();
      opener = link;
      open(new URL(link.href));
    } else if (t.closest("[data-consent-close]")) {
      dialog.close();
    }
  });

  showGpc(d);

  // The space kept below the page (and the scroll padding that keeps focused
  // elements clear of the banner, WCAG 2.4.11) is the banner's real height.
  const fit = () => banner?.isConnected && html.setProperty("--consent-space", banner.offsetHeight + 16 + "px");
  fit();
  addEventListener("resize", fit);
})();
