// Starts Swagger UI (vendored from npm swagger-ui-dist) on the API's own OpenAPI document.
(function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: node.dataset.specUrl, dom_id: "#swagger-ui" });
})();
