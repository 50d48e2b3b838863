/* The admin overlays page's URL builder (cozykart/ui/pages/admin_overlays.py).
 *
 * The overlay key stays in this browser: it is typed (or pasted, or filled once
 * when an admin makes a new key) into #overlay-key-field, which sends nothing to
 * the server. The server only renders the chosen overlay's route and its style
 * query (data-route, data-query on #overlay-builder); this script joins them with
 * the key into the URL field and, once the admin asks for it, the live preview's
 * src (an overlay page like OBS's, live, so it opens only when asked); and
 * copies the URL.
 */
(function () {
  "use strict";

  function byId(id) {
    return document.getElementById(id);
  }

  function overlayUrl() {
    var builder = byId("overlay-builder");
    var keyField = byId("overlay-key-field");
    if (!builder || !keyField) return null;
    var key = keyField.value.trim();
    var query = builder.getAttribute("data-query") || "";
    return {
      key: key,
      url: window.location.origin + builder.getAttribute("data-route") +
        "?key=" + encodeURIComponent(key) + (query ? "&" + query : ""),
    };
  }

  function refresh() {
    var built = overlayUrl();
    if (!built) return;
    var field = byId("overlay-builder-url");
    if (field && field.value !== built.url) field.value = built.url;
    var frame = byId("overlay-preview");
    var wanted = frame && frame.getAttribute("data-preview-on") === "true" && built.key;
    if (wanted && frame.getAttribute("src") !== built.url) frame.setAttribute("src", built.url);
  }

  function copy(button) {
    var field = byId("overlay-builder-url");
    if (!field || !field.value) return;
    var done = function () {
      button.setAttribute("data-copied", "true");
      button.textContent = "Copied";
      window.setTimeout(function () {
        button.removeAttribute("data-copied");
        button.textContent = "Copy URL";
      }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else {
      field.select();
      if (document.execCommand("copy")) done();
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "overlay-key-field") refresh();
  });
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("#overlay-copy-url");
    if (button) copy(button);
    if (event.target && event.target.closest && event.target.closest("#overlay-preview-show")) {
      var frame = byId("overlay-preview");
      if (frame) frame.setAttribute("data-preview-on", "true");
      refresh();
    }
  });
  window.cozykartOverlayBuilder = {refresh: refresh};
  new MutationObserver(refresh).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-route", "data-query"],
  });
  refresh();
})();
