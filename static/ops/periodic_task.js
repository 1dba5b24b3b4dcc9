"use strict";
// The periodic task form of django-celery-beat (templates/admin/djcelery/change_periodictask_form.html):
// under the chosen crontab, its reading in words, as the package's own inline script shows it.
(() => {
  const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = JSON.parse(document.getElementById("crontab-help").textContent);
  const translation = document.querySelector(".field-crontab_translation");
  const field = document.querySelector(".field-crontab");
  if (translation) {
    translation.hidden = true;
  }
  if (!field) {
    return;
  }
  field.addEventListener("change", () => {
    const help = field.querySelector(".help");
    const select = document.getElementById("id_crontab");
    if (!help || !select) {
      return;
    }
    help.replaceChildren(originalHelp, document.createElement("br"), `Translation: ${readable[select.value] ?? ""}`);
  });
})();
