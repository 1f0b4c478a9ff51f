/* The API docs page (templates/docs/api.html): Swagger UI, vendored in
   static/vendor/swagger-ui/, renders the app's own OpenAPI document. No request to another
   host: the validator badge (validator.swagger.io) is off. Without JavaScript the page
   links the JSON document instead. Accessibility: deep links are off (Swagger UI puts
   each operation's link inside the button that opens it: a link nested in a button), and
   its servers list gets the name its markup lacks. */
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
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    persistAuthorization: false
  });
  function nameServers() {
    var servers = root.querySelector("select#servers");
    if (servers && !servers.hasAttribute("aria-label")) {
      servers.setAttribute("aria-label", "Server");
    }
  }
  nameServers();
  new MutationObserver(nameServers).observe(root, {childList: true, subtree: true});
}());
