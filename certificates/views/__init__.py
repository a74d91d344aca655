"""Views stay thin: check access, call a form and a service or selector, render.

One module per area: ``core`` (first run, health, dashboard), ``access`` (who may see what),
``wizard`` (the request wizard), ``requests`` (a request's page, downloads, sending to the TAM),
``settings`` (administrators' pages).
"""
