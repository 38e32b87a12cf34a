// /docs: Swagger UI on the API's own description. Nothing is fetched from
// outside: the validator badge (which calls an external service) is off.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("swagger-ui");
  if (typeof window.SwaggerUIBundle !== "function") {
    target.textContent = "Swagger UI did not load; the description is at /openapi.json.";
    return;
  }
  target.textContent = "";
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    displayRequestDuration: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
