/* The API docs page (templates/docs/api.html): Swagger UI, vendored in
   static/vendor/swagger-ui/, renders the app's own OpenAPI document. No request to another
   host: the validator badge (validator.swagger.io) is off. Without JavaScript the page
   links the JSON document instead. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    persistAuthorization: false
  });
}());
