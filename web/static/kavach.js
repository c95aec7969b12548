// Kavach pages: a little script for the counter, none of it needed to use
// the pages. It prints the slip on load, formats the ABHA number as it is
// typed, makes Enter in a select submit its form, stops a double Enter
// from submitting a form twice, keeps what was typed across the language
// toggle, and keeps a doctor's queue up to date.
(function () {
  "use strict";
  var each = function (sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); };

  // A thermal roll has no fixed page length, and CSS has no "as long as
  // the content": size the page to the slip, so the printer cuts right
  // below it instead of feeding a whole sheet of blank paper.
  var roll = document.querySelector(".slip.size-80mm");
  var fitted = -1; // index of the @page rule fitRoll added
  var fitRoll = function () {
    var sheet = roll && Array.prototype.filter.call(document.styleSheets, function (s) {
      return s.href && s.href.indexOf("/slip-80mm.css") >= 0;
    })[0];
    if (!sheet) return;
    var mm = Math.ceil(roll.getBoundingClientRect().height * 25.4 / 96) + 2;
    if (fitted >= 0) sheet.deleteRule(fitted);
    fitted = sheet.insertRule("@page { size: 80mm " + mm + "mm; }", sheet.cssRules.length);
  };
  window.addEventListener("beforeprint", fitRoll);

  each("[data-print]", function (b) { b.addEventListener("click", function () { fitRoll(); window.print(); }); });

  if (document.body.getAttribute("data-autoprint") === "1") {
    window.addEventListener("load", function () {
      fitRoll();
      // Drop print=1 from the address, so a reload does not print again.
      if (window.history && history.replaceState) {
        var q = location.search.replace(/([?&])print=1(&|$)/, "$1").replace(/[?&]$/, "");
        history.replaceState(null, "", location.pathname + q);
      }
      window.print();
    });
  }

  each("input[data-abha]", function (el) {
    el.addEventListener("blur", function () {
      var d = el.value.replace(/\D/g, "");
      if (d.length === 14) {
        el.value = d.slice(0, 2) + "-" + d.slice(2, 6) + "-" + d.slice(6, 10) + "-" + d.slice(10);
      }
    });
  });

  // Enter in a select submits its form when the form's button says Enter
  // (<kbd>Enter</kbd>), as Enter does in a text field; arrows and typing
  // still choose. A select's own Enter would open its list instead.
  var enterButton = function (f) {
    return f && Array.prototype.filter.call(f.querySelectorAll("button"), function (b) {
      return b.type === "submit" && Array.prototype.some.call(b.querySelectorAll("kbd"), function (k) { return k.textContent.trim() === "Enter"; });
    })[0];
  };
  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key !== "Enter" || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.isComposing) return;
    if (!el || el.tagName !== "SELECT" || el.multiple) return;
    var b = enterButton(el.form);
    if (!b) return;
    e.preventDefault();
    if (el.form.requestSubmit) el.form.requestSubmit(b); else b.click();
  }, true);

  // A select whose options carry codes (data-code, as the State list's
  // "Delhi (DL)") takes the code typed: two letters typed quickly that are
  // an option's code choose it, while typing a name still works as usual.
  each("select", function (el) {
    if (!el.querySelector("option[data-code]")) return;
    var typed = "", last = 0;
    el.addEventListener("keydown", function (e) {
      if (e.key.length !== 1 || e.altKey || e.ctrlKey || e.metaKey) return;
      var now = Date.now();
      typed = (now - last < 1000 ? typed : "") + e.key.toUpperCase();
      last = now;
      if (typed.length !== 2) return;
      var o = el.querySelector('option[data-code="' + typed.replace(/[^A-Z]/g, "") + '"]');
      if (!o) return;
      setTimeout(function () {
        if (el.value === o.value) return;
        el.value = o.value;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }, 0);
    });
  });

  var guard = function (f) {
    f.addEventListener("submit", function (e) {
      if (f.getAttribute("data-sent")) {
        e.preventDefault();
        return;
      }
      f.setAttribute("data-sent", "1");
    });
  };
  each("form[method=post]", guard);
  // A queue page asks every data-every ms whether its rows changed (the
  // server answers 204 when not) and swaps them in without a reload,
  // keeping the focus on the same button when it is still there.
  var box = document.getElementById("queuebox");
  if (box && window.fetch && window.DOMParser) {
    var poll = function () {
      var url = box.getAttribute("data-poll") + "?v=" + encodeURIComponent(box.getAttribute("data-version"));
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
        if (r.status !== 200) return null;
        return r.text();
      }).then(function (html) {
        if (!html || document.querySelector("#queuebox form[data-sent]")) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queuebox");
        if (!fresh) return;
        var had = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : "";
        box.innerHTML = fresh.innerHTML;
        box.setAttribute("data-version", fresh.getAttribute("data-version"));
        var w = document.getElementById("waiting");
        if (w) w.textContent = fresh.getAttribute("data-waiting");
        var again = had && document.getElementById(had);
        if (again) again.focus();
        each("#queuebox form[method=post]", guard);
      }).catch(function () {}).then(function () {
        setTimeout(poll, +box.getAttribute("data-every") || 10000);
      });
    };
    setTimeout(poll, +box.getAttribute("data-every") || 10000);
  }

  // The language toggle (Alt+L) loads the page again in the other
  // language: what was typed into the page's forms goes with it, in this
  // tab's sessionStorage, and comes back into the same fields, the focus
  // too, once, on that page in that language within a minute. A field is
  // known by its form (id, else action, and which form of that action),
  // its name, and which of that name it is (a box by its value), so a page
  // with other forms around it (the duplicate warning above the
  // registration form) finds it again. Passwords and hidden fields stay
  // out.
  var toggle = document.querySelector("a.lang");
  var keepKey = "kavach-keep";
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }
  var kept = function (el) {
    var t = el.type;
    return el.name && t !== "hidden" && t !== "password" && t !== "file" && t !== "submit" && t !== "button" && t !== "reset";
  };
  var isBox = function (el) { return el.type === "checkbox" || el.type === "radio"; };
  // fields calls fn(key, el) for each kept field of the page's forms.
  var fields = function (fn) {
    var formsSeen = {};
    each("main form", function (f) {
      var fk = f.id ? "#" + f.id : (f.getAttribute("action") || "");
      fk += "@" + (formsSeen[fk] = (formsSeen[fk] || 0) + 1);
      var seen = {};
      Array.prototype.forEach.call(f.elements, function (el) {
        if (!kept(el) || (el.tagName === "SELECT" && el.multiple)) return;
        var k = isBox(el) ? el.name + "=" + el.value : el.name;
        fn(fk + " " + k + " " + (seen[k] = (seen[k] || 0) + 1), el);
      });
    });
  };
  var lastField = null;
  document.addEventListener("focusin", function (e) {
    if (e.target.form && kept(e.target)) lastField = e.target;
  });
  if (toggle && store && window.URL) {
    toggle.addEventListener("click", function (e) {
      // A click that opens another tab or window leaves this page here.
      if (e.button || e.ctrlKey || e.shiftKey || e.metaKey) return;
      var values = {}, focus = "";
      fields(function (k, el) {
        values[k] = isBox(el) ? el.checked : el.value;
        if (el === lastField) focus = k;
      });
      var next = new URL(toggle.href, location.href).searchParams.get("next") || "/";
      var keep = { path: next, lang: toggle.getAttribute("lang"), at: Date.now(), values: values, focus: focus };
      try { store.setItem(keepKey, JSON.stringify(keep)); } catch (e2) { /* full or off: the toggle still works */ }
    });
  }
  var keep = null;
  try { keep = store && JSON.parse(store.getItem(keepKey) || "null"); } catch (e) { keep = null; }
  if (keep) {
    store.removeItem(keepKey);
    if (keep.path === location.pathname + location.search && keep.lang === document.documentElement.lang &&
        Math.abs(Date.now() - keep.at) < 60000 && keep.values) {
      var refocus = null;
      fields(function (k, el) {
        if (!Object.prototype.hasOwnProperty.call(keep.values, k)) return;
        if (isBox(el)) el.checked = keep.values[k];
        else el.value = keep.values[k];
        // The page's own scripts (a day end's totals) see the value come.
        el.dispatchEvent(new Event("input", { bubbles: true }));
        el.dispatchEvent(new Event("change", { bubbles: true }));
        if (k === keep.focus) refocus = el;
      });
      if (refocus) window.addEventListener("load", function () { refocus.focus(); });
    }
  }

  // A page come back to with the Back button may submit again.
  window.addEventListener("pageshow", function () {
    each("form[data-sent]", function (f) { f.removeAttribute("data-sent"); });
  });
})();
