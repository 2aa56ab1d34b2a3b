/* Vitrine — progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // Item gallery: thumbnails swap the main picture instead of opening the full-size file.
  function initGallery(gallery) {
    var main = gallery.querySelector("[data-gallery-main]");
    var thumbs = gallery.querySelectorAll("[data-gallery-thumb]");
    if (!main || !thumbs.length) return;

    thumbs.forEach(function (thumb) {
      thumb.addEventListener("click", function (event) {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0) return;
        event.preventDefault();
        main.removeAttribute("srcset");
        main.setAttribute("src", thumb.getAttribute("data-full-src"));
        main.setAttribute("alt", thumb.getAttribute("data-full-alt") || "");
        if (thumb.dataset.fullWidth) main.setAttribute("width", thumb.dataset.fullWidth);
        if (thumb.dataset.fullHeight) main.setAttribute("height", thumb.dataset.fullHeight);
        thumbs.forEach(function (other) { other.removeAttribute("aria-current"); });
        thumb.setAttribute("aria-current", "true");
      });
    });
  }

  // Search filters: apply selects and radios as soon as they change; price waits for the button.
  // Empty fields are left out of the query so shared links stay short (?designer=chanel).
  function initAutosubmit(form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && !field.disabled && field.value === "" && field.type !== "radio") field.disabled = true;
        if (field.type === "radio" && field.checked && field.value === "") field.disabled = true;
      });
      // Re-enable after the browser has read the form (for back/forward cache restores).
      window.setTimeout(function () {
        Array.prototype.forEach.call(form.elements, function (field) { field.disabled = false; });
      }, 0);
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches("select, input[type=radio]")) {
        if (typeof form.requestSubmit === "function") form.requestSubmit();
        else form.submit();
      }
    });
  }

  // Filters start open (usable without JS); on narrow screens collapse them above the results.
  function initFilters(details) {
    var narrow = window.matchMedia("(max-width: 899px)");
    if (narrow.matches) details.removeAttribute("open");
    narrow.addEventListener("change", function (event) {
      if (!event.matches) details.setAttribute("open", "");
    });
  }

  function init() {
    document.querySelectorAll("[data-gallery]").forEach(initGallery);
    document.querySelectorAll("form[data-autosubmit]").forEach(initAutosubmit);
    document.querySelectorAll("details[data-filters]").forEach(initFilters);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
