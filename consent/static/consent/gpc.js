/* flask-consent-banner: a Global Privacy Control signal that only the browser's
   script shows (navigator.globalPrivacyControl, no Sec-GPC header) refuses at
   once what an earlier choice granted. The server includes this only on pages
   of such a choice; it posts a hidden form, which consent.js sends and puts
   into effect like any choice. */
if (navigator.globalPrivacyControl) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = document.currentScript.dataset.url;
  form.hidden = true;
  form.dataset.consentForm = "";
  document.body.append(form);
  form.requestSubmit();
}
