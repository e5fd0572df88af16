"""HTTP route modules. Every submodule that defines ``ROUTES`` (a list of Litestar route
handlers or controllers) is mounted by ``collector.app.create_app``; adding a module
here adds its routes, with no central list to edit."""
