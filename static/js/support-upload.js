// Progressive enhancement for help requests: a file over the size limit is taken off the form
// before it is sent (with a message), so the text typed is never lost to a refused upload.
// Without JavaScript the server refuses such a file itself and shows the form again, filled in.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[type=file][data-max-bytes]");
  Array.prototype.forEach.call(inputs, function (input) {
    var note = document.getElementById(input.id + "-size");
    input.addEventListener("change", function () {
      var max = Number(input.getAttribute("data-max-bytes"));
      var file = input.files && input.files[0];
      if (file && max && file.size > max) {
        input.value = "";
        if (note) { note.textContent = input.getAttribute("data-too-large") || ""; }
      } else if (note) {
        note.textContent = "";
      }
    });
  });
})();
