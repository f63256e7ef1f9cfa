"""The dashboard (``fab2token serve``): the stored runs and plans in a browser, on the functions the CLI calls.

:func:`fab2token.web.app.create_app` builds the app over a results store, :func:`fab2token.web.app.serve` serves
it; importing this package loads neither FastAPI nor the store.
"""
