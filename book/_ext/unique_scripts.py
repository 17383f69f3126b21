"""Sphinx extension: emit each script tag of a page once.

sphinx-togglebutton 0.4 and sphinx-thebe 0.3 add inline scripts in their
``builder-inited`` handlers, and Sphinx 7.4 then registers those scripts twice, so
every page declares ``const THEBE_JS_URL`` twice and the browser raises a SyntaxError.
This extension drops the second copy of any script with the same source, inline body
and attributes before the page is written.
"""


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # Inline scripts come with a filename of None or "", depending on who added them.
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Priority 900 runs after the extensions that add page scripts (default 500).
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
