/* flask-consent-banner: Google Consent Mode v2 defaults, before any Google tag. */
(() => {
  const c = JSON.parse(document.currentScript.dataset.consentGcm);
  window.dataLayer = window.dataLayer || [];
  window.gtag = window.gtag || function gtag() { window.dataLayer.push(arguments); };
  for (const r of c.regions || []) gtag("consent", "default", r);
  gtag("consent", "default", c.default);
  if (c.ads_data_redaction) gtag("set", "ads_data_redaction", true);
  if (c.url_passthrough) gtag("set", "url_passthrough", true);
})();
