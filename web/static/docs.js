// Swagger UI over this site's OpenAPI document (web/templates/docs.html loads the bundle first).
// A file, not an inline script: the Content-Security-Policy admits scripts from this site only.
// validatorUrl null: no badge from validator.swagger.io; showExtensions: each operation's x-siaga-role.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
