// The cash count: each line's amount, the total counted and the difference
// from the cash expected, as the cashier types. The server adds the count
// up again when the form is sent; this is only for the eye.
(function () {
  "use strict";
  var form = document.getElementById("count-form");
  if (!form) return;
  var expected = parseInt(form.getAttribute("data-expected"), 10) || 0;
  var inputs = form.querySelectorAll("input[data-denom]");

  // inr formats paise as the pages do: ₹1,50,000.50.
  var inr = function (paise) {
    var sign = paise < 0 ? "\u2212" : "";
    paise = Math.abs(paise);
    var r = String(Math.floor(paise / 100)), p = String(paise % 100);
    if (p.length < 2) p = "0" + p;
    if (r.length > 3) {
      var head = r.slice(0, -3), groups = [];
      while (head.length > 2) { groups.unshift(head.slice(-2)); head = head.slice(0, -2); }
      groups.unshift(head);
      r = groups.join(",") + "," + r.slice(-3);
    }
    return sign + "\u20b9" + r + "." + p;
  };

  var update = function () {
    var total = 0;
    Array.prototype.forEach.call(inputs, function (el) {
      var d = parseInt(el.getAttribute("data-denom"), 10);
      var n = /^\s*\d+\s*$/.test(el.value) ? parseInt(el.value, 10) : 0;
      var line = form.querySelector('[data-line="' + d + '"]');
      if (line) line.textContent = n ? inr(d * n * 100) : "";
      total += d * n * 100;
    });
    document.getElementById("counted").textContent = inr(total);
    document.getElementById("difference").textContent = inr(total - expected);
  };
  Array.prototype.forEach.call(inputs, function (el) { el.addEventListener("input", update); });
  update();
})();
