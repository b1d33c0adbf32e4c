// The service's own document, relative to /docs so a path prefix in front of the service still works.
window.ui = SwaggerUIBundle({url: "openapi.yaml", dom_id: "#swagger-ui", deepLinking: true});
